//! Step 2, delivery (MODEL.md section 3): each provider serves contracted volume up to its
//! capacity; the rest is done by the CCG's own team at its in-house price and recorded as unmet for
//! the provider, whose quality falls in proportion to the overload.

use csmarket::engine::{Replication, Supplier};
use csmarket::model::Market;

use super::{assert_close, contracted, in_house_price, market};

/// Replication `rep` of `m` in quarter 1 after procurement, and every provider line with volume
/// under contract, the largest first: `(provider, service, annual contracted volume)`.
fn quarter_one(m: &Market, rep: u64) -> (Replication<'_>, Vec<(usize, usize, f64)>) {
    let mut r = Replication::new(m, rep);
    r.plan();
    r.start_quarter();
    r.procure();
    let mut lines: Vec<(usize, usize, f64)> = (0..m.providers.len())
        .flat_map(|p| (0..m.services.len()).map(move |s| (p, s)))
        .map(|(p, s)| (p, s, contracted(&r, p, s)))
        .filter(|&(_, _, v)| v > 0.0)
        .collect();
    lines.sort_by(|a, b| b.2.total_cmp(&a.2));
    (r, lines)
}

#[test]
fn delivery_serves_up_to_capacity_and_the_rest_in_house_at_the_ccgs_price_recorded_as_unmet() {
    let m = market("local");
    let (mut r, lines) = quarter_one(&m, 4);
    let (p, s, annual) = lines[0];
    // The busiest line can serve only 60% of what it sold; every other line has room.
    r.set_capacity(p, s, 0.6 * annual);
    for &(q, x, v) in &lines[1..] {
        r.set_capacity(q, x, 1.5 * v);
    }
    let unmet_before = r.provider(p).unmet();

    // What each CCG should pay, CCG by CCG, from the rule.
    let (mut to_providers, mut in_house, mut independent) = (0.0, 0.0, 0.0);
    for c in 0..m.ccgs.len() {
        for x in 0..m.services.len() {
            let v = r.volume(c, x) / 4.0;
            match r.contract(c, x).supplier() {
                Supplier::Provider(q) => {
                    let line = r.provider(q).line(x);
                    let served = v.min(v * line.capacity() / contracted(&r, q, x));
                    to_providers += line.price() * served;
                    in_house += in_house_price(&r, c, x) * (v - served);
                }
                Supplier::Independent => independent += m.services[x].independent_price * v,
                _ => in_house += in_house_price(&r, c, x) * v,
            }
        }
    }
    assert!(in_house > 0.0 && to_providers > 0.0);

    r.deliver();
    for q in 0..m.providers.len() {
        for x in 0..m.services.len() {
            let line = r.provider(q).line(x);
            let want = contracted(&r, q, x).min(line.capacity()) / 4.0;
            assert_close(line.served(), want, "served = min(contracted, capacity)");
            assert_close(
                line.revenue(),
                line.price() * want,
                "revenue = price x served",
            );
        }
    }
    assert_close(
        r.provider(p).unmet() - unmet_before,
        0.4 * annual / 4.0,
        "the volume above capacity is recorded as unmet",
    );
    let f = r.money();
    assert_close(f.in_house, in_house, "in-house spend, fallback included");
    assert_close(f.independent, independent, "independent spend");
    assert_close(
        f.ccgs_paid,
        to_providers + in_house + independent,
        "what CCGs paid",
    );
}

#[test]
fn an_overloaded_provider_loses_quality_in_proportion_to_the_overload() {
    let mut m = market("local");
    m.rules.overload_quality_loss = 0.8;
    let (mut r, lines) = quarter_one(&m, 6);
    assert!(lines.len() >= 3, "three lines with customers");
    // Overloads of a quarter and a half of contracted volume, and a line with spare capacity.
    let cases = [
        (lines[0], 0.75, 0.25),
        (lines[1], 0.5, 0.5),
        (lines[2], 2.0, 0.0),
    ];
    for &((p, s, v), capacity_share, _) in &cases {
        r.set_quality(p, s, 0.7);
        r.set_capacity(p, s, capacity_share * v);
    }
    r.deliver();
    for &((p, s, _), _, overload) in &cases {
        let line = r.provider(p).line(s);
        assert_close(
            line.effective_quality(),
            0.7 * (1.0 - 0.8 * overload),
            &format!("quality of provider {p}, service {s}, overload {overload}"),
        );
        assert_eq!(line.quality(), 0.7, "the drawn quality is kept");
    }
}
