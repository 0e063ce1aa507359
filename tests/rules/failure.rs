//! Step 6, failure (MODEL.md sections 3 and 9): after independence a provider whose reserves fall
//! below `insolvency_threshold x` annual turnover fails; a failing local CSU merges into the open
//! local CSU of its region with the largest reserves, which takes its patch, customers, capacity
//! and reserves; a national service exits rather than merges.

use csmarket::engine::{Fate, Replication, Status, Supplier};
use csmarket::model::Market;
use csmarket::scenario::schema::OnFailure;

use super::{customers_of, lenient, market, provider, three_north_market};

/// Runs `m` to `quarter`, every step of it but failure done, recording each provider's revenue
/// quarter by quarter; returns the replication and each provider's turnover over the last four.
fn before_failure(m: &Market, rep: u64, quarter: u32) -> (Replication<'_>, Vec<f64>) {
    let mut r = Replication::new(m, rep);
    r.plan();
    let mut revenue: Vec<Vec<f64>> = vec![Vec::new(); m.providers.len()];
    loop {
        let t = r.start_quarter();
        r.procure();
        r.deliver();
        r.finance();
        for (p, rev) in revenue.iter_mut().enumerate() {
            rev.push(r.provider(p).quarterly_revenue()[(t % 4) as usize]);
        }
        r.review_prices();
        r.adjust_capacity();
        r.assure();
        if t == quarter {
            break;
        }
        r.fail();
        r.observe();
    }
    let turnover = revenue
        .iter()
        .map(|rev| rev[rev.len() - 4..].iter().sum())
        .collect();
    (r, turnover)
}

/// South-a's status after the failure step of `quarter` with reserves set to `reserves(turnover)`.
fn south_a_after(quarter: u32, reserves: impl Fn(f64) -> f64) -> Status {
    let mut m = market("local");
    lenient(&mut m);
    m.rules.on_failure = OnFailure::Exit;
    m.finance.insolvency_threshold = 0.25;
    for p in &mut m.providers {
        p.reserves = 1e12; // nothing fails before the quarter tested
    }
    let p = provider(&m, "south-a");
    let (mut r, turnover) = before_failure(&m, 3, quarter);
    assert!(turnover[p] > 0.0);
    r.set_reserves(p, reserves(turnover[p]));
    r.fail();
    r.provider(p).status()
}

#[test]
fn insolvency_is_reserves_below_threshold_times_annual_turnover_after_independence_only() {
    let independence = market("local").independence;
    let failed = Status::Closed(Fate::Failed);
    // From independence: just below a quarter of a year's turnover fails, at it does not.
    assert_eq!(south_a_after(independence, |t| 0.25 * t - 1.0), failed);
    assert_eq!(south_a_after(independence, |t| 0.25 * t), Status::Open);
    assert_eq!(south_a_after(independence + 2, |t| 0.25 * t - 1.0), failed);
    // While hosted, no reserves are low enough.
    assert_eq!(south_a_after(independence - 1, |_| -1e12), Status::Open);
    assert_eq!(south_a_after(4, |_| -1e12), Status::Open);
}

#[test]
fn a_failing_local_csu_merges_into_the_open_local_csu_of_its_region_with_the_largest_reserves() {
    let mut m = three_north_market("local");
    lenient(&mut m);
    m.rules.on_failure = OnFailure::Merge;
    let [f, b, c, south] = ["north-a", "north-b", "north-c", "south-a"].map(|id| provider(&m, id));
    let (mut r, _) = before_failure(&m, 1, m.independence);
    // North-c has the largest reserves of north-a's region; south-a, in another region, larger still.
    for (p, reserves) in [(f, -1e7), (b, 1e11), (c, 2e11), (south, 1e12)] {
        r.set_reserves(p, reserves);
    }
    let customers = customers_of(&r, f);
    assert!(!customers.is_empty(), "north-a has customers");
    let patch: Vec<usize> = (0..m.ccgs.len())
        .filter(|&k| r.host(k) == Some(f))
        .collect();
    assert!(!patch.is_empty());
    let capacity = |r: &Replication<'_>, p: usize| -> Vec<f64> {
        (0..m.services.len())
            .map(|s| r.provider(p).line(s).capacity())
            .collect()
    };
    let (cap_f, cap_c, cap_b) = (capacity(&r, f), capacity(&r, c), capacity(&r, b));
    let hosts_before: Vec<_> = (0..m.ccgs.len()).map(|k| r.host(k)).collect();
    r.fail();
    assert_eq!(r.provider(f).status(), Status::Closed(Fate::Merged));
    assert_eq!(r.provider(c).reserves(), 2e11 - 1e7, "takes the reserves");
    assert_eq!(r.provider(b).reserves(), 1e11);
    assert_eq!(r.provider(south).reserves(), 1e12);
    for s in 0..m.services.len() {
        assert_eq!(
            r.provider(c).line(s).capacity(),
            cap_c[s] + cap_f[s],
            "takes capacity"
        );
    }
    assert_eq!(capacity(&r, b), cap_b);
    for (k, s) in customers {
        assert_eq!(
            r.contract(k, s).supplier(),
            Supplier::Provider(c),
            "takes customers"
        );
    }
    for k in 0..m.ccgs.len() {
        let want = if patch.contains(&k) {
            Some(c)
        } else {
            hosts_before[k]
        };
        assert_eq!(r.host(k), want, "takes the patch: CCG {k}");
    }
}

#[test]
fn a_national_service_that_fails_exits_rather_than_merges() {
    let mut m = market("national");
    lenient(&mut m);
    m.rules.on_failure = OnFailure::Merge;
    let national = provider(&m, "national-comms");
    let (mut r, _) = before_failure(&m, 0, m.independence);
    for p in 0..m.providers.len() {
        r.set_reserves(p, 1e12);
    }
    r.set_reserves(national, -1e12);
    let customers = customers_of(&r, national);
    let hosts: Vec<_> = (0..m.ccgs.len()).map(|k| r.host(k)).collect();
    r.fail();
    assert_eq!(r.provider(national).status(), Status::Closed(Fate::Failed));
    for p in (0..m.providers.len()).filter(|&p| p != national) {
        assert!(r.provider(p).is_open());
        assert_eq!(r.provider(p).reserves(), 1e12, "nobody takes its reserves");
    }
    assert_eq!(
        (0..m.ccgs.len()).map(|k| r.host(k)).collect::<Vec<_>>(),
        hosts
    );
    // Its CCGs choose again in the next quarter.
    r.observe();
    let t = r.start_quarter();
    r.procure();
    for (k, s) in customers {
        let contract = r.contract(k, s);
        assert_ne!(contract.supplier(), Supplier::Provider(national));
        assert_eq!(contract.end(), t + m.rules.contract_length);
    }
}
