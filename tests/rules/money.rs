//! Money conservation (MODEL.md section 3, steps 2 and 3): what CCGs paid equals what providers
//! booked as revenue plus what CCGs' own teams and the independent sector were paid. Each side is
//! summed on its own: CCGs' payments in delivery, providers' revenue in their accounts (a network's
//! result through its members' shares), in-house and independent spend recomputed here from the
//! contracts.

use csmarket::engine::{Replication, Supplier};
use csmarket::model::Market;
use csmarket::scenario::schema::ProviderKind;

use super::{assert_close, contracted, in_house_price, market, market_from};

/// Quarter `t`'s in-house and independent spend, from the contracts and the lines' capacity.
fn own_teams_and_independent(r: &Replication<'_>) -> (f64, f64) {
    let m = r.market();
    let (mut in_house, mut independent) = (0.0, 0.0);
    for c in 0..m.ccgs.len() {
        for s in 0..m.services.len() {
            let v = r.volume(c, s) / 4.0;
            match r.contract(c, s).supplier() {
                Supplier::Provider(p) if r.provider(p).is_open() => {
                    let share = (r.provider(p).line(s).capacity() / contracted(r, p, s)).min(1.0);
                    in_house += in_house_price(r, c, s) * v * (1.0 - share);
                }
                Supplier::Independent => independent += m.services[s].independent_price * v,
                _ => in_house += in_house_price(r, c, s) * v,
            }
        }
    }
    (in_house, independent)
}

/// Runs every quarter of replication `rep`, checking conservation after each quarter's accounts.
fn check(m: &Market, rep: u64) {
    let mut r = Replication::new(m, rep);
    r.plan();
    let mut paid = 0.0;
    for _ in 1..m.periods {
        let t = r.start_quarter();
        r.procure();
        r.deliver();
        r.finance();
        let slot = (t % 4) as usize;
        // Networks pass their result to members, so revenue is counted once, at CSUs and nationals.
        let booked: f64 = (0..m.providers.len())
            .filter(|&p| r.provider(p).is_open())
            .filter(|&p| m.providers[p].kind != ProviderKind::Collaborative)
            .map(|p| r.provider(p).quarterly_revenue()[slot])
            .sum();
        let (in_house, independent) = own_teams_and_independent(&r);
        let f = r.money();
        let at = format!("{} rep {rep} quarter {t}", m.configuration);
        assert!(f.ccgs_paid > 0.0);
        assert_close(f.ccgs_paid, booked + in_house + independent, &at);
        assert_close(f.in_house, in_house, &format!("{at}: in-house"));
        assert_close(f.independent, independent, &format!("{at}: independent"));
        paid += f.ccgs_paid;
        r.review_prices();
        r.adjust_capacity();
        r.assure();
        r.fail();
        r.observe();
    }
    assert_close(r.ledger().ccg_spend, paid, "the run's ledger");
}

#[test]
fn money_is_conserved_what_ccgs_paid_equals_provider_revenue_plus_in_house_and_independent() {
    let tutorial = include_str!("../../scenarios/tutorial.toml");
    for config in ["local", "collaborative", "national"] {
        let small = market(config);
        let tutorial = market_from("tutorial.toml", tutorial, config);
        for rep in 0..8 {
            check(&small, rep);
            check(&tutorial, rep);
        }
    }
}
