//! A test per rule of MODEL.md sections 3-5 and 9, each named after its rule and written against
//! the public stepping API (`engine::Replication`): a file per step of the model, as `src/engine/`
//! has. Each test builds a small market (`tests/fixtures/small.toml`, or the tutorial), sets on the
//! compiled `Market` the parameters the rule needs, and steps one replication. Expected values are
//! computed here from the rule's words, from the contracts and the market, not read back from the
//! engine's own sums.

// Rules speak of CCG c, service s and provider p; index loops read like them (as in src/engine).
#![allow(clippy::needless_range_loop)]

mod assurance;
mod capacity;
mod delivery;
mod failure;
mod finance;
mod money;
mod networks;
mod pricing;
mod procurement;

use csmarket::engine::{Replication, Supplier};
use csmarket::model::Market;
use csmarket::scenario::Scenario;

/// The small fixture market in a configuration: `local`, `collaborative` or `national`.
pub fn market(config: &str) -> Market {
    market_from("small.toml", crate::core::SMALL, config)
}

/// A market compiled from scenario text in one configuration.
pub fn market_from(name: &str, text: &str, config: &str) -> Market {
    let s = Scenario::from_text(name, text).unwrap();
    Market::compile(&s.resolve(config).unwrap(), config).unwrap()
}

/// The small market with a third northern CSU, `north-c`, whose patch is CCG n2 (180,000 people):
/// patches north-a 250,000, north-c 180,000, north-b 410,000. The BI collaborative's members are
/// `[north-a, north-c, north-b]`, led by north-a, so the largest remaining patch is not the first
/// remaining member.
pub fn three_north_market(config: &str) -> Market {
    let mut text = crate::core::SMALL.to_string();
    let edits = [
        (
            "id = \"n2\"\nregion = \"north\"\npopulation = 180000\nhost = \"north-a\"",
            "id = \"n2\"\nregion = \"north\"\npopulation = 180000\nhost = \"north-c\"",
        ),
        (
            "[[providers]]\nid = \"south-a\"",
            "[[providers]]\nid = \"north-c\"\nkind = \"local\"\nregion = \"north\"\n\
             services.bi = { fixed_cost = 150000, unit_cost = 0.85, quality = 0.65, capacity = 300000 }\n\
             services.comms = { fixed_cost = 60000, unit_cost = 0.85, quality = 0.65, capacity = 130000 }\n\
             services.support = { fixed_cost = 200000, unit_cost = 0.85, quality = 0.65, capacity = 400000 }\n\n\
             [[providers]]\nid = \"south-a\"",
        ),
        (
            "members = [\"north-a\", \"north-b\"]",
            "members = [\"north-a\", \"north-c\", \"north-b\"]",
        ),
    ];
    for (from, to) in edits {
        assert!(text.contains(from), "fixture lacks {from:?}");
        text = text.replacen(from, to, 1);
    }
    market_from("three-north.toml", &text, config)
}

/// Market index of a provider.
pub fn provider(m: &Market, id: &str) -> usize {
    m.providers.iter().position(|p| p.id == id).unwrap()
}

/// Index of a service.
pub fn service(m: &Market, id: &str) -> usize {
    m.services.iter().position(|s| s.id == id).unwrap()
}

/// Every checkpoint rates every provider A: nothing is stopped unless a test says so.
pub fn lenient(m: &mut Market) {
    for cp in &mut m.checkpoints {
        cp.min_customer_share = 0.0;
        cp.min_margin = -1e9;
        cp.min_capability = 0.0;
        cp.marginal_band = 0.0;
        cp.b_must_reach_a = false;
    }
}

/// Every (CCG, service) pair whose contract is with `provider`.
pub fn customers_of(r: &Replication<'_>, provider: usize) -> Vec<(usize, usize)> {
    let m = r.market();
    (0..m.ccgs.len())
        .flat_map(|c| (0..m.services.len()).map(move |s| (c, s)))
        .filter(|&(c, s)| r.contract(c, s).supplier() == Supplier::Provider(provider))
        .collect()
}

/// Annual volume under contract with an open provider for a service, summed from the contracts.
pub fn contracted(r: &Replication<'_>, p: usize, s: usize) -> f64 {
    if !r.provider(p).is_open() {
        return 0.0;
    }
    (0..r.market().ccgs.len())
        .filter(|&c| r.contract(c, s).supplier() == Supplier::Provider(p))
        .map(|c| r.volume(c, s))
        .sum()
}

/// A CCG's in-house price per unit (MODEL.md section 4): unit cost plus fixed cost over its volume.
pub fn in_house_price(r: &Replication<'_>, c: usize, s: usize) -> f64 {
    let sv = &r.market().services[s];
    sv.in_house_unit + sv.in_house_fixed / r.volume(c, s)
}

/// Population of each provider's patch (CCGs whose host it is now).
pub fn patch(r: &Replication<'_>, p: usize) -> f64 {
    let m = r.market();
    (0..m.ccgs.len())
        .filter(|&c| r.host(c) == Some(p))
        .map(|c| m.ccgs[c].population)
        .sum()
}

/// Runs whole quarters until `quarter` is the current one.
pub fn run_to(r: &mut Replication<'_>, quarter: u32) {
    while r.quarter() < quarter {
        r.run_quarter();
    }
}

/// `a` equals `b` up to rounding (relative 1e-9).
#[track_caller]
pub fn assert_close(a: f64, b: f64, what: &str) {
    let tol = 1e-9 * a.abs().max(b.abs()).max(1.0);
    assert!((a - b).abs() <= tol, "{what}: {a} != {b} (expected)");
}
