//! Step 5, assurance (MODEL.md sections 5 and 9): the customer, finance and capability domains,
//! the rating table with its marginal band, "B must reach A", and every provider rated on the same
//! state before any is stopped.

use csmarket::engine::{Fate, Replication, Status, Supplier};
use csmarket::model::Market;
use csmarket::scenario::schema::ProviderKind;

use super::{assert_close, lenient, market, provider, run_to};

const REP: u64 = 2;
/// The checkpoint in quarter 4 of the fixture (the first, in quarter 0, rates intentions).
const REVIEW: usize = 1;

/// Replication `rep` of `m` in quarter 4, every step done but the checkpoint.
fn before_review(m: &Market, rep: u64) -> Replication<'_> {
    let mut r = Replication::new(m, rep);
    r.plan();
    run_to(&mut r, 3);
    assert_eq!(r.start_quarter(), m.checkpoints[REVIEW].period);
    r.procure();
    r.deliver();
    r.finance();
    r.review_prices();
    r.adjust_capacity();
    r
}

/// Whether CCG `c` is among a provider's targets: its patch, its members' patches, or everyone.
fn targets(r: &Replication<'_>, p: usize, c: usize) -> bool {
    match r.market().providers[p].kind {
        ProviderKind::National => true,
        ProviderKind::Local => r.host(c) == Some(p),
        ProviderKind::Collaborative => r
            .host(c)
            .is_some_and(|h| r.provider(p).members().contains(&h)),
    }
}

/// Whether CCG `c` buys a service from `p`, or (for a member) from a network `p` belongs to.
fn buys_from(r: &Replication<'_>, p: usize, c: usize) -> bool {
    let m = r.market();
    (0..m.services.len()).any(|s| match r.contract(c, s).supplier() {
        Supplier::Provider(q) if q == p => true,
        Supplier::Provider(q) => {
            m.providers[q].kind == ProviderKind::Collaborative
                && r.provider(q).is_open()
                && r.provider(q).members().contains(&p)
        }
        _ => false,
    })
}

/// Projected revenue and cost of a provider's own lines for the next year.
fn projection(r: &Replication<'_>, p: usize) -> (f64, f64) {
    let m = r.market();
    let spec = &m.providers[p];
    let coordination = spec.coordination_cost * r.provider(p).members().len() as f64;
    let (mut rev, mut cost) = (0.0, 0.0);
    for s in 0..m.services.len() {
        let line = r.provider(p).line(s);
        if !line.active() {
            continue;
        }
        let o = spec.offers[s].as_ref().unwrap();
        let v = super::contracted(r, p, s);
        rev += line.price() * v;
        cost += o.fixed_cost
            + coordination
            + o.unit_cost * v
            + m.finance.idle_cost_share * o.unit_cost * (line.capacity() - v).max(0.0);
    }
    (rev, cost)
}

/// Member `p`'s share of network `net`'s projected volume (delivered by the host when a member,
/// else by the lead).
fn projected_share(r: &Replication<'_>, net: usize, p: usize) -> f64 {
    let m = r.market();
    let (mut mine, mut all) = (0.0, 0.0);
    for c in 0..m.ccgs.len() {
        for s in 0..m.services.len() {
            if r.contract(c, s).supplier() != Supplier::Provider(net) {
                continue;
            }
            let deliverer = match r.host(c) {
                Some(h) if r.provider(net).members().contains(&h) => Some(h),
                _ => r.provider(net).lead(),
            };
            all += r.volume(c, s);
            if deliverer == Some(p) {
                mine += r.volume(c, s);
            }
        }
    }
    assert!(all > 0.0, "the network has contracts");
    mine / all
}

#[test]
fn customer_domain_is_the_population_share_of_its_targets_that_buy_from_it() {
    for config in ["collaborative", "national"] {
        let mut m = market(config);
        lenient(&mut m);
        let mut r = Replication::new(&m, REP);
        r.plan();
        // North-a prices itself out of its own services: its patch can buy from it only through
        // the network, which still counts for it.
        let north_a = provider(&m, "north-a");
        for s in 0..m.services.len() {
            r.set_price(north_a, s, 1000.0);
        }
        run_to(&mut r, 3);
        r.start_quarter();
        r.procure();
        r.deliver();
        r.finance();
        r.review_prices();
        r.adjust_capacity();
        if config == "collaborative" {
            let net = provider(&m, "bi-north");
            let only_network = (0..m.ccgs.len())
                .filter(|&c| r.host(c) == Some(north_a))
                .filter(|&c| buys_from(&r, north_a, c))
                .all(|c| {
                    (0..m.services.len())
                        .all(|s| r.contract(c, s).supplier() != Supplier::Provider(north_a))
                });
            let some = (0..m.ccgs.len()).any(|c| {
                r.host(c) == Some(north_a) && r.contract(c, 0).supplier() == Supplier::Provider(net)
            });
            assert!(
                only_network && some,
                "north-a's patch buys from it only through bi-north"
            );
        }
        let want: Vec<Option<f64>> = (0..m.providers.len())
            .map(|p| {
                r.provider(p).is_open().then(|| {
                    let (mut target, mut buying) = (0.0, 0.0);
                    for c in (0..m.ccgs.len()).filter(|&c| targets(&r, p, c)) {
                        target += m.ccgs[c].population;
                        if buys_from(&r, p, c) {
                            buying += m.ccgs[c].population;
                        }
                    }
                    buying / target
                })
            })
            .collect();
        r.assure();
        for (p, want) in want.iter().enumerate() {
            let Some(want) = want else { continue };
            let got = r.provider(p).assessment().unwrap().customer_share;
            assert_close(got, *want, &format!("{config}: {}", m.providers[p].id));
        }
    }
}

#[test]
fn finance_domain_is_the_projected_margin_a_member_counting_its_share_of_the_network() {
    let mut m = market("collaborative");
    lenient(&mut m);
    let mut r = before_review(&m, REP);
    let want: Vec<Option<f64>> = (0..m.providers.len())
        .map(|p| {
            r.provider(p).is_open().then(|| {
                let (mut rev, mut cost) = projection(&r, p);
                for net in (0..m.providers.len()).filter(|&n| {
                    m.providers[n].kind == ProviderKind::Collaborative
                        && r.provider(n).is_open()
                        && r.provider(n).members().contains(&p)
                }) {
                    let w = projected_share(&r, net, p);
                    let (nr, nc) = projection(&r, net);
                    rev += w * nr;
                    cost += w * nc;
                }
                (rev - cost) / rev
            })
        })
        .collect();
    r.assure();
    for (p, want) in want.iter().enumerate() {
        let Some(want) = want else { continue };
        let got = r.provider(p).assessment().unwrap().projected_margin;
        assert_close(got, *want, &m.providers[p].id);
    }
}

#[test]
fn capability_domain_is_the_mean_of_the_four_standards() {
    let mut m = market("local");
    lenient(&mut m);
    m.rules.capability_sd = 0.0;
    let p = provider(&m, "south-a");
    m.providers[p].standards = [0.2, 0.4, 0.6, 0.9];
    let mut r = before_review(&m, REP);
    r.assure();
    let got = r.provider(p).assessment().unwrap().capability;
    assert_close(got, (0.2 + 0.4 + 0.6 + 0.9) / 4.0, "mean of the standards");
}

/// North-a's domains at the quarter-4 checkpoint of the local market: customer share, projected
/// margin, capability.
fn north_a_domains() -> [f64; 3] {
    let mut m = market("local");
    lenient(&mut m);
    let mut r = before_review(&m, REP);
    r.assure();
    let a = r.provider(provider(&m, "north-a")).assessment().unwrap();
    [a.customer_share, a.projected_margin, a.capability]
}

/// North-a's rating (1 A, 2 B, 3 C) at the quarter-4 checkpoint with these thresholds and band, and
/// whether it is still open after it.
fn north_a_rated(thresholds: [f64; 3], band: f64) -> (u8, Status) {
    let mut m = market("local");
    lenient(&mut m);
    let cp = &mut m.checkpoints[REVIEW];
    [cp.min_customer_share, cp.min_margin, cp.min_capability] = thresholds;
    cp.marginal_band = band;
    let mut r = before_review(&m, REP);
    r.assure();
    let st = r.provider(provider(&m, "north-a"));
    (st.ratings()[REVIEW], st.status())
}

const BAND: f64 = 0.1;

/// A threshold the value passes just outside the marginal band (a fraction of the threshold, so
/// an absolute band of the same size would hold it in).
fn clear_pass(v: f64) -> f64 {
    if v > 0.0 {
        v / 1.15
    } else if v < 0.0 {
        v / 0.85
    } else {
        -1.0
    }
}

/// A threshold the value passes, but within the marginal band.
fn marginal_pass(v: f64) -> f64 {
    assert!(v != 0.0, "no band around a zero threshold");
    if v > 0.0 { v / 1.05 } else { v / 0.95 }
}

/// A threshold the value fails.
fn failed(v: f64) -> f64 {
    v + 0.01 * v.abs().max(1.0)
}

const NAMES: [&str; 3] = ["customer", "finance", "capability"];

#[test]
fn passing_every_domain_outside_the_marginal_band_gives_a() {
    let d = north_a_domains();
    let t = d.map(clear_pass);
    assert_eq!(north_a_rated(t, BAND), (1, Status::Open));
}

#[test]
fn exactly_one_failed_domain_gives_b() {
    let d = north_a_domains();
    for i in 0..3 {
        let mut t = d.map(clear_pass);
        t[i] = failed(d[i]);
        assert_eq!(
            north_a_rated(t, BAND),
            (2, Status::Open),
            "{} fails",
            NAMES[i]
        );
    }
}

#[test]
fn a_pass_within_the_marginal_band_gives_b() {
    let d = north_a_domains();
    for i in 0..3 {
        let mut t = d.map(clear_pass);
        t[i] = marginal_pass(d[i]);
        assert_eq!(
            north_a_rated(t, BAND),
            (2, Status::Open),
            "{} marginal",
            NAMES[i]
        );
        // Without a band the same pass is clean.
        assert_eq!(
            north_a_rated(t, 0.0),
            (1, Status::Open),
            "{} no band",
            NAMES[i]
        );
    }
}

#[test]
fn two_or_more_failed_domains_give_c_and_stop_the_provider() {
    let d = north_a_domains();
    let stopped = (3, Status::Closed(Fate::Stopped));
    for (i, j) in [(0, 1), (0, 2), (1, 2)] {
        let mut t = d.map(clear_pass);
        t[i] = failed(d[i]);
        t[j] = failed(d[j]);
        assert_eq!(
            north_a_rated(t, BAND),
            stopped,
            "{} and {} fail",
            NAMES[i],
            NAMES[j]
        );
    }
    assert_eq!(north_a_rated(d.map(failed), BAND), stopped, "all fail");
}

/// Ratings of north-a and north-b at both checkpoints, and their status after the second, when
/// only capability decides: north-a (0.3) fails 0.4 and 0.5, north-b (0.45) passes 0.4 but fails
/// 0.5; `second` is the second checkpoint's threshold.
fn b_then(second: f64, b_must_reach_a: bool) -> [(u8, u8, Status); 2] {
    let mut m = market("local");
    lenient(&mut m);
    m.rules.capability_sd = 0.0;
    let (a, b) = (provider(&m, "north-a"), provider(&m, "north-b"));
    for p in &mut m.providers {
        p.standards = [0.9; 4];
    }
    m.providers[a].standards = [0.3; 4];
    m.providers[b].standards = [0.45; 4];
    m.checkpoints[0].min_capability = 0.4;
    m.checkpoints[REVIEW].min_capability = second;
    m.checkpoints[REVIEW].b_must_reach_a = b_must_reach_a;
    let mut r = before_review(&m, REP);
    r.assure();
    [a, b].map(|p| {
        let st = r.provider(p);
        (st.ratings()[0], st.ratings()[REVIEW], st.status())
    })
}

#[test]
fn a_provider_rated_b_must_reach_a_at_the_next_checkpoint_when_the_scenario_says_so() {
    let open = Status::Open;
    let stopped = Status::Closed(Fate::Stopped);
    // B then B: stopped where A is required; A then B is not held against it.
    assert_eq!(b_then(0.5, true), [(2, 2, stopped), (1, 2, open)]);
    // Without the rule, B then B proceeds.
    assert_eq!(b_then(0.5, false), [(2, 2, open), (1, 2, open)]);
    // B then A proceeds.
    assert_eq!(b_then(0.2, true), [(2, 1, open), (1, 1, open)]);
}

#[test]
fn every_provider_is_rated_on_the_same_state_before_any_is_stopped() {
    // Reference: nobody is stopped at the quarter-4 checkpoint.
    let mut m = market("collaborative");
    lenient(&mut m);
    let (north_a, net) = (provider(&m, "north-a"), provider(&m, "bi-north"));
    let mut r = before_review(&m, REP);
    assert!(r.provider(net).is_open() && r.provider(net).members().contains(&north_a));
    r.assure();
    let reference: Vec<_> = (0..m.providers.len())
        .map(|p| r.provider(p).assessment())
        .collect();
    let a = reference[north_a].unwrap();

    // The same state, thresholds that give north-a (first in the file) a C: if it were stopped
    // before the network is rated, the network would be rated without it.
    let cp = &mut m.checkpoints[REVIEW];
    cp.min_customer_share = failed(a.customer_share);
    cp.min_capability = failed(a.capability);
    let mut r = before_review(&m, REP);
    r.assure();
    assert_eq!(r.provider(north_a).status(), Status::Closed(Fate::Stopped));
    assert!(
        !r.provider(net).members().contains(&north_a),
        "north-a left the network"
    );
    for (p, want) in reference.iter().enumerate() {
        let (Some(want), Some(got)) = (want, r.provider(p).assessment()) else {
            panic!("{} rated in both runs", m.providers[p].id);
        };
        let id = &m.providers[p].id;
        assert_eq!(got.customer_share, want.customer_share, "{id}: customer");
        assert_eq!(got.projected_margin, want.projected_margin, "{id}: finance");
        assert_eq!(got.capability, want.capability, "{id}: capability");
    }
}
