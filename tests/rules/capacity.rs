//! Step 4, capacity (MODEL.md section 3): capacity moves toward contracted volume at `hire_rate`
//! per quarter when short and at `shed_rate` when idle.

use csmarket::engine::Replication;

use super::{assert_close, contracted, lenient, market};

#[test]
fn capacity_moves_toward_contracted_volume_at_hire_rate_when_short_and_shed_rate_when_idle() {
    let mut m = market("local");
    lenient(&mut m);
    m.finance.hire_rate = 0.3;
    m.finance.shed_rate = 0.2;
    m.finance.redundancy_cost = 0.5;
    let mut r = Replication::new(&m, 7);
    r.plan();
    r.start_quarter();
    r.procure();
    r.deliver();
    r.finance();
    r.review_prices();
    let lines: Vec<(usize, usize, f64)> = (0..m.providers.len())
        .flat_map(|p| (0..m.services.len()).map(move |s| (p, s)))
        .map(|(p, s)| (p, s, contracted(&r, p, s)))
        .filter(|&(_, _, v)| v > 0.0)
        .collect();
    assert!(lines.len() >= 2);
    // One line short by half its contracted volume, one with twice what it needs.
    let (short, idle) = (lines[0], lines[1]);
    r.set_capacity(short.0, short.1, 0.5 * short.2);
    r.set_capacity(idle.0, idle.1, 2.0 * idle.2);
    r.adjust_capacity();
    let hired = r.provider(short.0).line(short.1);
    assert_close(
        hired.capacity(),
        0.5 * short.2 + 0.3 * (0.5 * short.2),
        "hires hire_rate of the gap",
    );
    assert_eq!(hired.redundancy(), 0.0, "hiring costs no redundancy");
    let shed = r.provider(idle.0).line(idle.1);
    assert_close(
        shed.capacity(),
        2.0 * idle.2 - 0.2 * idle.2,
        "sheds shed_rate of the excess",
    );
    let unit = m.providers[idle.0].offers[idle.1]
        .as_ref()
        .unwrap()
        .unit_cost;
    assert_close(
        shed.redundancy(),
        0.5 * unit * 0.2 * idle.2,
        "redundancy_cost x unit cost x capacity shed",
    );
}
