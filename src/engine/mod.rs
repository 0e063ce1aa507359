//! One replication of the market, quarter by quarter (MODEL.md section 3). Each step of the model
//! has its own file: `state` (what a replication holds), `plan` (the planning quarter),
//! `procurement`, `agenda`, `choice` and `menu` (step 1; `kernel` holds its `exp`), `delivery` (2), `finance` and `pricing` (3), `capacity`
//! (4), `assurance` (5) with `consolidation` (voluntary mergers), `failure` (6), `networks` (collaboratives, in every step) and
//! `observation` (what is recorded). `inspect` reads a replication between steps, for tests.
//! This file holds the quarter loop.

// State lives in flat arrays indexed by CCG, service and provider; index loops read clearer here.
#![allow(clippy::needless_range_loop)]

mod agenda;
mod assurance;
mod capacity;
pub mod choice;
mod consolidation;
mod delivery;
mod failure;
mod finance;
mod inspect;
pub mod kernel;
mod lanes;
mod menu;
mod nested;
mod networks;
mod observation;
mod plan;
mod pricing;
mod procurement;
mod state;

use crate::model::Market;

pub use assurance::{Assessment, judge, rate};
pub use inspect::MoneyFlows;
pub use observation::{
    DOMAINS, DomainCheck, Fate, Ledger, OpenByKind, PeriodFigures, ProviderOutcome, RatingRecord,
    ReplicationOutcome, ServiceOutcome, kind_index,
};
pub use pricing::is_review_quarter;
pub use state::{Contract, Line, ProviderState, Replication, Status, Supplier, Workspace};

/// Runs one replication of a market. A market with [`crate::model::Variants`] (a posterior
/// sample) simulates the variant that the replication draws: the one place every command's
/// replications pass through, so `run`, `compare`, `sweep` and `backtest` all carry it.
pub fn simulate(m: &Market, replication: u64) -> ReplicationOutcome {
    simulate_in(m, replication, &mut Workspace::default())
}

/// [`simulate`] in the buffers `ws` kept from the worker's last replication (of any market), and
/// left there for its next: the same outcome, bit for bit, without allocating them again.
pub fn simulate_in(m: &Market, replication: u64, ws: &mut Workspace) -> ReplicationOutcome {
    let m = match &m.variants {
        Some(v) => v.market_for(replication),
        None => m,
    };
    let mut r = Replication::new_in(m, replication, std::mem::take(ws));
    r.plan();
    for _ in 1..m.periods {
        r.run_quarter();
    }
    let (outcome, buffers) = r.finish();
    *ws = buffers;
    outcome
}

impl Replication<'_> {
    /// Moves on to the next quarter and returns it; the steps that follow act in it.
    pub fn start_quarter(&mut self) -> u32 {
        self.quarter += 1;
        self.quarter
    }

    /// Runs the next quarter whole: its six steps in MODEL.md's order, then records its figures.
    pub fn run_quarter(&mut self) {
        self.start_quarter();
        self.procure();
        self.deliver();
        self.finance();
        self.review_prices();
        self.adjust_capacity();
        self.assure();
        self.fail();
        self.observe();
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! What the engine's unit tests share: the small fixture market and provider look-up.

    use super::Replication;
    use crate::model::Market;
    use crate::scenario::Scenario;

    /// The small test market (`tests/fixtures/small.toml`) in one configuration.
    pub fn market(config: &str) -> Market {
        let text = include_str!("../../tests/fixtures/small.toml");
        let s = Scenario::from_text("small.toml", text).unwrap();
        Market::compile(&s.resolve(config).unwrap(), config).unwrap()
    }

    /// Replication 3 after planning and quarter 1's procurement.
    pub fn replication_in_quarter_one(m: &Market) -> Replication<'_> {
        let mut w = Replication::new(m, 3);
        w.plan();
        w.start_quarter();
        w.procure();
        w
    }

    /// A provider's market index.
    pub fn index(m: &Market, id: &str) -> usize {
        m.providers.iter().position(|p| p.id == id).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::simulate;
    use super::testing::market;

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
