//! Step 3, finance (MODEL.md section 3): revenue is price x served volume; cost is fixed cost,
//! unit cost x served volume, the cost of idle capacity and redundancy when capacity shrinks;
//! surplus accumulates into reserves, and while the Board hosts the providers it absorbs deficits.

use csmarket::engine::Replication;
use csmarket::model::Market;

use super::{assert_close, contracted, lenient, market};

/// A local CSU's cost for the quarter just delivered, from the rule: per active line, a quarter of
/// the fixed cost, unit cost x served, `idle_cost_share x unit cost x` idle capacity, and the
/// redundancy booked by the last capacity step (given per service).
fn cost_by_the_rule(r: &Replication<'_>, p: usize, redundancy: &[f64]) -> (f64, f64) {
    let m = r.market();
    let (mut cost, mut idle_cost) = (0.0, 0.0);
    for s in 0..m.services.len() {
        let line = r.provider(p).line(s);
        if !line.active() {
            continue;
        }
        let offer = m.providers[p].offers[s].as_ref().unwrap();
        let idle = (line.capacity() / 4.0 - line.served()).max(0.0);
        let idle_here = m.finance.idle_cost_share * offer.unit_cost * idle;
        cost +=
            offer.fixed_cost / 4.0 + offer.unit_cost * line.served() + idle_here + redundancy[s];
        idle_cost += idle_here;
    }
    (cost, idle_cost)
}

/// The local market with nothing stopped at checkpoints.
fn local_market() -> Market {
    let mut m = market("local");
    lenient(&mut m);
    m
}

#[test]
fn hosting_floor_keeps_reserves_from_going_below_zero_before_independence() {
    let m = local_market();
    let mut r = Replication::new(&m, 0);
    r.plan();
    for p in 0..m.providers.len() {
        r.set_reserves(p, 0.0);
    }
    let mut deficits = 0;
    let free_prices = |r: &mut Replication<'_>| {
        for p in 0..m.providers.len() {
            for s in 0..m.services.len() {
                r.set_price(p, s, 0.0);
            }
        }
    };
    while r.quarter() + 1 < m.independence {
        let t = r.start_quarter();
        r.procure();
        // Giving the work away: every quarter is a deficit.
        free_prices(&mut r);
        r.deliver();
        r.finance();
        for p in (0..m.providers.len()).filter(|&p| r.provider(p).is_open()) {
            let slot = (t % 4) as usize;
            let st = r.provider(p);
            if st.quarterly_cost()[slot] > st.quarterly_revenue()[slot] {
                deficits += 1;
            }
            assert_eq!(st.reserves(), 0.0, "quarter {t}, provider {p}: hosted");
        }
        r.review_prices();
        r.adjust_capacity();
        r.assure();
        r.fail();
        r.observe();
    }
    assert!(deficits > 0, "the test made deficits");
    // From independence the Board stops absorbing them: the surplus (a deficit) goes to reserves.
    let t = r.start_quarter();
    assert_eq!(t, m.independence);
    r.procure();
    free_prices(&mut r);
    r.deliver();
    r.finance();
    for p in (0..m.providers.len()).filter(|&p| r.provider(p).is_open()) {
        let st = r.provider(p);
        let slot = (t % 4) as usize;
        let surplus = st.quarterly_revenue()[slot] - st.quarterly_cost()[slot];
        assert!(surplus < 0.0);
        assert_close(
            st.reserves(),
            surplus,
            "independent: reserves take the deficit",
        );
    }
}

#[test]
fn cost_includes_idle_capacity_at_idle_cost_share_of_unit_cost() {
    let mut m = local_market();
    m.finance.idle_cost_share = 0.3;
    let mut r = Replication::new(&m, 1);
    r.plan();
    r.start_quarter();
    r.procure();
    // Twice the capacity the contracts need: half of it idles.
    for p in 0..m.providers.len() {
        for s in 0..m.services.len() {
            r.set_capacity(p, s, 2.0 * contracted(&r, p, s) + 40_000.0);
        }
    }
    r.deliver();
    r.finance();
    let mut idle_total = 0.0;
    for p in (0..m.providers.len()).filter(|&p| r.provider(p).is_open()) {
        let (cost, idle) = cost_by_the_rule(&r, p, &[0.0; 3]);
        let st = r.provider(p);
        assert_close(
            st.quarterly_cost()[1],
            cost,
            &format!("cost of provider {p}"),
        );
        let revenue: f64 = (0..m.services.len())
            .map(|s| st.line(s).price() * st.line(s).served())
            .sum();
        assert_close(
            st.quarterly_revenue()[1],
            revenue,
            "revenue = price x served",
        );
        // Hosted: reserves move by the surplus unless it would take them below zero.
        let reserves = (m.providers[p].reserves + revenue - cost).max(0.0);
        assert_close(st.reserves(), reserves, "surplus accumulates into reserves");
        idle_total += idle;
    }
    assert!(idle_total > 0.0);
}

#[test]
fn shedding_capacity_costs_redundancy_in_the_next_accounts() {
    let mut m = local_market();
    m.finance.shed_rate = 0.25;
    m.finance.redundancy_cost = 0.5;
    let mut r = Replication::new(&m, 2);
    r.plan();
    r.start_quarter();
    r.procure();
    for p in 0..m.providers.len() {
        for s in 0..m.services.len() {
            r.set_capacity(p, s, 2.0 * contracted(&r, p, s) + 40_000.0);
        }
    }
    r.deliver();
    r.finance();
    r.review_prices();
    let before: Vec<Vec<f64>> = (0..m.providers.len())
        .map(|p| (0..3).map(|s| r.provider(p).line(s).capacity()).collect())
        .collect();
    r.adjust_capacity();
    r.assure();
    r.fail();
    r.observe();
    // Quarter 2: each line that shed pays `redundancy_cost x unit cost x` the capacity it shed.
    r.start_quarter();
    r.procure();
    r.deliver();
    r.finance();
    let mut redundancy_total = 0.0;
    for p in (0..m.providers.len()).filter(|&p| r.provider(p).is_open()) {
        let redundancy: Vec<f64> = (0..3)
            .map(|s| match &m.providers[p].offers[s] {
                Some(o) => {
                    let shed = (before[p][s] - r.provider(p).line(s).capacity()).max(0.0);
                    m.finance.redundancy_cost * o.unit_cost * shed
                }
                None => 0.0,
            })
            .collect();
        let (cost, _) = cost_by_the_rule(&r, p, &redundancy);
        assert_close(
            r.provider(p).quarterly_cost()[2],
            cost,
            &format!("cost of provider {p}"),
        );
        redundancy_total += redundancy.iter().sum::<f64>();
    }
    assert!(redundancy_total > 0.0);
}
