//! A test per rule of MODEL.md sections 3-5 and 9, each named after its rule and written against
//! the public stepping API (`engine::Replication`): a file per step of the model, as `src/engine/`
//! has. Each test builds the small fixture market (`tests/fixtures/small.toml`), sets on the
//! compiled `Market` the parameters the rule needs, and steps one replication.

mod procurement;

use csmarket::engine::{Replication, Supplier};
use csmarket::model::Market;
use csmarket::scenario::Scenario;

/// The small fixture market in a configuration: `local`, `collaborative` or `national`.
pub fn market(config: &str) -> Market {
    let s = Scenario::from_text("small.toml", crate::core::SMALL).unwrap();
    Market::compile(&s.resolve(config).unwrap(), config).unwrap()
}

/// Every (CCG, service) pair whose contract is with `provider`.
pub fn customers_of(r: &Replication<'_>, provider: usize) -> Vec<(usize, usize)> {
    let m = r.market();
    (0..m.ccgs.len())
        .flat_map(|c| (0..m.services.len()).map(move |s| (c, s)))
        .filter(|&(c, s)| r.contract(c, s).supplier() == Supplier::Provider(provider))
        .collect()
}
