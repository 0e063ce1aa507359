//! Step 3, prices (MODEL.md section 3): `price = (fixed_cost / expected_volume + unit_cost) x
//! (1 + markup)`, the expected volume being the business plan's before any contract and last
//! year's contracted volume at each annual review, with at most `max_price_change` per review.

use csmarket::engine::Replication;
use csmarket::model::Market;

use super::{assert_close, contracted, lenient, market, patch};

/// The cost-plus price, as MODEL.md writes it.
fn cost_plus(fixed: f64, expected_volume: f64, unit: f64, markup: f64) -> f64 {
    (fixed / expected_volume + unit) * (1.0 + markup)
}

/// Quarters with a price review: once a year, from the second contract year on (5, 9, 13, ...).
fn review_quarter(t: u32) -> bool {
    t > 1 && t % 4 == 1
}

/// Runs quarters 1 to 4 whole and quarter 5 up to its accounts, recording each line's contracted
/// volume (from the contracts) in every quarter: returns the mean over quarters 1 to 4.
fn to_first_review(m: &Market, rep: u64) -> (Replication<'_>, Vec<Vec<f64>>) {
    let mut r = Replication::new(m, rep);
    r.plan();
    let (np, ns) = (m.providers.len(), m.services.len());
    let mut sum = vec![vec![0.0; ns]; np];
    for _ in 1..=4 {
        r.start_quarter();
        r.procure();
        for p in 0..np {
            for s in 0..ns {
                sum[p][s] += contracted(&r, p, s) / 4.0;
            }
        }
        r.deliver();
        r.finance();
        r.review_prices();
        r.adjust_capacity();
        r.assure();
        r.fail();
        r.observe();
    }
    assert_eq!(r.start_quarter(), 5);
    r.procure();
    r.deliver();
    r.finance();
    (r, sum)
}

#[test]
fn business_plan_price_is_cost_plus_on_the_plan_share_of_the_patch_need() {
    let m = market("local");
    let mut r = Replication::new(&m, 0);
    r.plan();
    for (p, spec) in m.providers.iter().enumerate() {
        for (s, offer) in spec.offers.iter().enumerate() {
            let Some(o) = offer else { continue };
            let volume = patch(&r, p) * m.services[s].need_per_head * m.rules.plan_share;
            let want = cost_plus(o.fixed_cost, volume, o.unit_cost, spec.markup);
            let line = r.provider(p).line(s);
            assert_close(
                line.price(),
                want,
                &format!("{} {}", spec.id, m.services[s].id),
            );
            assert_eq!(line.plan_price(), line.price());
        }
    }
}

#[test]
fn price_review_sets_cost_plus_price_on_last_years_mean_contracted_volume() {
    let mut m = market("local");
    lenient(&mut m);
    m.finance.max_price_change = 1e6; // no cap
    let (mut r, expected) = to_first_review(&m, 3);
    r.review_prices();
    let mut reviewed = 0;
    for (p, spec) in m.providers.iter().enumerate() {
        for (s, offer) in spec.offers.iter().enumerate() {
            let Some(o) = offer else { continue };
            if !r.provider(p).is_open() || expected[p][s] <= 0.0 {
                continue;
            }
            let want = cost_plus(o.fixed_cost, expected[p][s], o.unit_cost, spec.markup);
            assert_close(
                r.provider(p).line(s).price(),
                want,
                &format!("{} {s}", spec.id),
            );
            reviewed += 1;
        }
    }
    assert!(reviewed >= 3, "{reviewed} lines reviewed");
}

#[test]
fn prices_are_reviewed_only_once_a_year_from_the_second_contract_year() {
    let mut m = market("local");
    lenient(&mut m);
    for p in &mut m.providers {
        p.reserves = 1e12; // none fails
    }
    let mut r = Replication::new(&m, 5);
    r.plan();
    let prices = |r: &Replication<'_>| -> Vec<f64> {
        (0..m.providers.len())
            .flat_map(|p| (0..m.services.len()).map(move |s| (p, s)))
            .map(|(p, s)| r.provider(p).line(s).price())
            .collect()
    };
    let mut reviews = 0;
    for _ in 1..m.periods {
        let before = prices(&r);
        let t = r.start_quarter();
        r.procure();
        r.deliver();
        r.finance();
        r.review_prices();
        r.adjust_capacity();
        r.assure();
        r.fail();
        r.observe();
        let after = prices(&r);
        if review_quarter(t) {
            assert_ne!(before, after, "quarter {t} reviews prices");
            reviews += 1;
        } else {
            assert_eq!(before, after, "quarter {t} is not a review quarter");
        }
    }
    assert_eq!(reviews, 3, "quarters 5, 9 and 13 of 16");
}

#[test]
fn price_review_changes_a_price_by_at_most_max_price_change() {
    let mut m = market("local");
    lenient(&mut m);
    m.finance.max_price_change = 0.1;
    let (mut r, expected) = to_first_review(&m, 3);
    let lines: Vec<(usize, usize)> = (0..m.providers.len())
        .flat_map(|p| (0..m.services.len()).map(move |s| (p, s)))
        .filter(|&(p, s)| r.provider(p).is_open() && expected[p][s] > 0.0)
        .collect();
    assert!(lines.len() >= 3);
    // Far above the cost-plus price, far below it, and where it was.
    let (high, low) = (lines[0], lines[1]);
    r.set_price(high.0, high.1, 1000.0);
    r.set_price(low.0, low.1, 0.001);
    let before: Vec<f64> = lines
        .iter()
        .map(|&(p, s)| r.provider(p).line(s).price())
        .collect();
    r.review_prices();
    assert_close(r.provider(high.0).line(high.1).price(), 900.0, "cut by 10%");
    assert_close(
        r.provider(low.0).line(low.1).price(),
        0.0011,
        "raised by 10%",
    );
    for (&(p, s), &old) in lines.iter().zip(&before) {
        let new = r.provider(p).line(s).price();
        assert!(
            (new - old).abs() <= 0.1 * old * (1.0 + 1e-12),
            "provider {p} service {s}: {old} -> {new}"
        );
    }
}
