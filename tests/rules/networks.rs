//! Collaboratives (MODEL.md sections 2, 5 and 9): a network's result is shared by the volume each
//! member delivered, or by patch population when it delivered nothing; a stopped network hands
//! each service back to its members; a network whose lead leaves is led by its member with the
//! largest patch; a network with no members ends.

use csmarket::engine::{Fate, Replication, Status, Supplier};
use csmarket::model::Market;
use csmarket::scenario::schema::OnFailure;

use super::{assert_close, lenient, market, patch, provider, run_to, service, three_north_market};

/// Each member's share of the volume network `net` delivers under its current contracts: a CCG
/// is delivered to by its host when the host is a member, else by the lead. Delivery is pro rata,
/// so shares of contracted volume are shares of delivered volume.
fn delivered_shares(r: &Replication<'_>, net: usize) -> Vec<f64> {
    let m = r.market();
    let st = r.provider(net);
    let mut v = vec![0.0; st.members().len()];
    for c in 0..m.ccgs.len() {
        for s in 0..m.services.len() {
            if r.contract(c, s).supplier() != Supplier::Provider(net) {
                continue;
            }
            let deliverer = match r.host(c) {
                Some(h) if st.members().contains(&h) => h,
                _ => st.lead().unwrap(),
            };
            let j = st.members().iter().position(|&x| x == deliverer).unwrap();
            v[j] += r.volume(c, s);
        }
    }
    let total: f64 = v.iter().sum();
    v.iter().map(|x| x / total).collect()
}

/// A member's revenue and cost for quarter 1 from its own lines, by the finance rule.
fn own_accounts(r: &Replication<'_>, p: usize) -> (f64, f64) {
    let m = r.market();
    let (mut rev, mut cost) = (0.0, 0.0);
    for s in 0..m.services.len() {
        let line = r.provider(p).line(s);
        if !line.active() {
            continue;
        }
        let o = m.providers[p].offers[s].as_ref().unwrap();
        let idle = (line.capacity() / 4.0 - line.served()).max(0.0);
        rev += line.price() * line.served();
        cost += o.fixed_cost / 4.0
            + o.unit_cost * line.served()
            + m.finance.idle_cost_share * o.unit_cost * idle;
    }
    (rev, cost)
}

/// Checks that each member's quarter-1 accounts are its own plus `shares` of the network's.
fn assert_members_carry(r: &Replication<'_>, net: usize, shares: &[f64]) {
    let (net_rev, net_cost) = (
        r.provider(net).quarterly_revenue()[1],
        r.provider(net).quarterly_cost()[1],
    );
    assert!(net_cost > 0.0);
    for (j, &p) in r.provider(net).members().iter().enumerate() {
        let (rev, cost) = own_accounts(r, p);
        let st = r.provider(p);
        assert_close(
            st.quarterly_revenue()[1],
            rev + shares[j] * net_rev,
            "member revenue",
        );
        assert_close(
            st.quarterly_cost()[1],
            cost + shares[j] * net_cost,
            "member cost",
        );
    }
}

#[test]
fn a_networks_result_is_shared_by_the_volume_each_member_delivered() {
    let mut m = market("collaborative");
    lenient(&mut m);
    let net = provider(&m, "bi-north");
    let members = [provider(&m, "north-a"), provider(&m, "north-b")];
    let total_patch = 840_000.0;
    // A replication in which both members deliver, in shares unlike their patch shares.
    let (r, shares) = (0..40)
        .find_map(|rep| {
            let mut r = Replication::new(&m, rep);
            r.plan();
            r.start_quarter();
            r.procure();
            if !r.provider(net).is_open() || super::customers_of(&r, net).is_empty() {
                return None;
            }
            let shares = delivered_shares(&r, net);
            let unlike_patch = members
                .iter()
                .zip(&shares)
                .all(|(&p, w)| *w > 0.0 && (w - patch(&r, p) / total_patch).abs() > 0.02);
            unlike_patch.then_some((r, shares))
        })
        .expect("some replication has both members delivering");
    let mut r = r;
    r.deliver();
    r.finance();
    let delivered = r.provider(net).delivered();
    let total: f64 = delivered.iter().sum();
    for (j, w) in shares.iter().enumerate() {
        assert_close(delivered[j] / total, *w, "delivered by host, else lead");
    }
    assert_members_carry(&r, net, &shares);
}

#[test]
fn a_networks_result_is_shared_by_patch_population_when_it_delivered_nothing() {
    let mut m = market("collaborative");
    lenient(&mut m);
    let net = provider(&m, "bi-north");
    let mut r = Replication::new(&m, 1);
    r.plan();
    assert!(r.provider(net).is_open());
    r.start_quarter();
    r.procure();
    // No capacity: it delivers nothing and carries its fixed and coordination costs.
    r.set_capacity(net, service(&m, "bi"), 0.0);
    r.deliver();
    r.finance();
    assert!(r.provider(net).delivered().iter().all(|&d| d == 0.0));
    assert_close(
        r.provider(net).quarterly_cost()[1],
        (180_000.0 + 2.0 * 20_000.0) / 4.0,
        "a quarter of fixed and coordination cost",
    );
    // Patches: north-a 250,000 + 180,000; north-b 320,000 + 90,000.
    assert_members_carry(&r, net, &[430.0 / 840.0, 410.0 / 840.0]);
}

#[test]
fn a_stopped_collaborative_hands_each_service_back_to_its_members() {
    let mut m = market("collaborative");
    lenient(&mut m);
    m.rules.capability_sd = 0.0;
    let net = provider(&m, "bi-north");
    let bi = service(&m, "bi");
    for p in &mut m.providers {
        p.standards = [0.9; 4];
    }
    // Rated B at both checkpoints on capability alone, and B must reach A: stopped in quarter 4.
    m.providers[net].standards = [0.1; 4];
    for cp in &mut m.checkpoints {
        cp.min_capability = 0.5;
    }
    m.checkpoints[1].b_must_reach_a = true;
    let mut r = Replication::new(&m, 2);
    r.plan();
    run_to(&mut r, 3);
    let t = r.start_quarter();
    r.procure();
    r.deliver();
    r.finance();
    r.review_prices();
    r.adjust_capacity();
    let members = r.provider(net).members().to_vec();
    assert_eq!(members.len(), 2);
    let customers = super::customers_of(&r, net);
    assert!(!customers.is_empty());
    let shares = delivered_shares(&r, net);
    let pooled = r.provider(net).line(bi).capacity();
    for &p in &members {
        assert!(
            !r.provider(p).line(bi).active(),
            "dormant inside the network"
        );
    }
    r.assure();
    assert_eq!(r.provider(net).status(), Status::Closed(Fate::Stopped));
    for (j, &p) in members.iter().enumerate() {
        let line = r.provider(p).line(bi);
        let id = &m.providers[p].id;
        assert!(line.active(), "{id} sells BI again");
        assert_eq!(line.price(), line.plan_price(), "{id}: business-plan price");
        assert_eq!(
            line.fixed_cost(),
            m.providers[p].offers[bi].as_ref().unwrap().fixed_cost,
            "{id}: its own fixed cost"
        );
        assert_close(
            line.capacity(),
            pooled * shares[j],
            "share of pooled capacity",
        );
    }
    // Its CCGs choose again in the next quarter: new contracts of the full length.
    let next = r.start_quarter();
    assert_eq!(next, t + 1);
    r.procure();
    for (c, s) in customers {
        let k = r.contract(c, s);
        assert_ne!(k.supplier(), Supplier::Provider(net));
        assert_ne!(k.supplier(), Supplier::None);
        assert_eq!(
            k.end(),
            next + m.rules.contract_length,
            "CCG {c} chose again"
        );
    }
}

/// Runs `m` to the independence quarter, every step but failure done, with every provider's
/// reserves far above any threshold.
fn at_independence(m: &Market, rep: u64) -> Replication<'_> {
    let mut r = Replication::new(m, rep);
    r.plan();
    run_to(&mut r, m.independence - 1);
    r.start_quarter();
    r.procure();
    r.deliver();
    r.finance();
    r.review_prices();
    r.adjust_capacity();
    r.assure();
    for p in 0..m.providers.len() {
        r.set_reserves(p, 1e12);
    }
    r
}

#[test]
fn a_network_whose_lead_leaves_is_led_by_its_member_with_the_largest_patch() {
    let mut m = three_north_market("collaborative");
    lenient(&mut m);
    m.rules.on_failure = OnFailure::Exit;
    let net = provider(&m, "bi-north");
    let [a, b, c] = ["north-a", "north-b", "north-c"].map(|id| provider(&m, id));
    let mut r = at_independence(&m, 0);
    assert_eq!(r.provider(net).members(), &[a, c, b]);
    assert_eq!(r.provider(net).lead(), Some(a));
    assert!(patch(&r, b) > patch(&r, c), "north-b has the larger patch");
    r.set_reserves(a, -1e12);
    r.fail();
    assert_eq!(r.provider(a).status(), Status::Closed(Fate::Failed));
    assert_eq!(r.provider(net).members(), &[c, b]);
    assert_eq!(
        r.provider(net).lead(),
        Some(b),
        "largest patch, not first in line"
    );
    assert!(r.provider(net).is_open());
}

#[test]
fn a_network_with_no_members_ends() {
    let mut m = market("collaborative");
    lenient(&mut m);
    m.rules.on_failure = OnFailure::Exit;
    let net = provider(&m, "bi-north");
    let (a, b) = (provider(&m, "north-a"), provider(&m, "north-b"));
    let mut r = at_independence(&m, 0);
    let t = r.quarter();
    r.set_reserves(a, -1e12);
    r.fail();
    assert!(r.provider(net).is_open(), "one member left");
    assert_eq!(r.provider(net).members(), &[b]);
    r.observe();
    r.start_quarter();
    r.procure();
    r.deliver();
    r.finance();
    r.review_prices();
    r.adjust_capacity();
    r.assure();
    r.set_reserves(b, -1e12);
    r.fail();
    assert_eq!(r.provider(net).status(), Status::Closed(Fate::Ended));
    assert_eq!(r.provider(net).exit_quarter(), Some(t + 1));
    assert!(r.provider(net).members().is_empty());
}
