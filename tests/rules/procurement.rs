//! Step 1, procurement (MODEL.md section 3): who chooses when, how long contracts run, and notice.

use csmarket::engine::{Ledger, Replication, Supplier};

use super::{customers_of, market};

#[test]
fn no_accounts_are_kept_in_the_planning_quarter() {
    let m = market("collaborative");
    let mut r = Replication::new(&m, 0);
    r.plan();
    assert_eq!(r.quarter(), 0);
    assert!(
        r.decisions() > 0,
        "CCGs state intentions in the planning quarter"
    );
    for (p, spec) in m.providers.iter().enumerate() {
        let st = r.provider(p);
        assert_eq!(st.reserves(), spec.reserves, "{}: reserves moved", spec.id);
        assert_eq!(st.quarters_open(), 0, "{}: accounts kept", spec.id);
        assert_eq!(st.quarterly_revenue(), [0.0; 4], "{}", spec.id);
        assert_eq!(st.quarterly_cost(), [0.0; 4], "{}", spec.id);
    }
    assert_eq!(r.ledger(), Ledger::default(), "nothing delivered or paid");
    // The first quarter with contracts does keep accounts, so the checks above can see them.
    r.start_quarter();
    r.procure();
    r.deliver();
    r.finance();
    let open = (0..m.providers.len()).filter(|&p| r.provider(p).is_open());
    assert!(open.clone().count() > 0);
    for p in open {
        assert_eq!(r.provider(p).quarters_open(), 1);
    }
    assert!(r.ledger().ccg_spend > 0.0);
}

#[test]
fn every_ccg_chooses_in_quarter_one_and_contracts_run_contract_length_quarters() {
    let length = 5;
    let mut m = market("local");
    m.rules.contract_length = length;
    let mut r = Replication::new(&m, 1);
    r.plan();
    let intentions = r.decisions();
    let pairs = (m.ccgs.len() * m.services.len()) as u64;
    // One intention per CCG and service, and again where a quarter-0 checkpoint stopped it.
    assert!(intentions >= pairs);
    r.start_quarter();
    r.procure();
    assert_eq!(
        r.decisions(),
        intentions + pairs,
        "every CCG chooses in quarter 1"
    );
    for c in 0..m.ccgs.len() {
        for s in 0..m.services.len() {
            let k = r.contract(c, s);
            assert_ne!(k.supplier(), Supplier::None);
            assert_eq!(k.end(), 1 + length);
            assert!(!k.notice_given());
        }
    }
}

#[test]
fn notice_after_quality_falls_below_the_threshold_ends_the_contract_notice_periods_later() {
    let (length, notice) = (8, 2);
    let mut m = market("local");
    m.rules.contract_length = length;
    m.rules.notice_periods = notice;
    let mut r = Replication::new(&m, 2);
    r.plan();
    r.start_quarter();
    r.procure();
    // A provider with customers for some service; its quality for that service falls to zero.
    let p = (0..m.providers.len())
        .find(|&p| !customers_of(&r, p).is_empty())
        .expect("some provider has customers in quarter 1");
    let (_, s) = customers_of(&r, p)[0];
    let affected: Vec<(usize, usize)> = customers_of(&r, p)
        .into_iter()
        .filter(|&(_, x)| x == s)
        .collect();
    let others: Vec<(usize, usize)> = (0..m.ccgs.len())
        .flat_map(|c| (0..m.services.len()).map(move |x| (c, x)))
        .filter(|pair| !affected.contains(pair))
        .collect();
    let before: Vec<(Supplier, u32)> = others
        .iter()
        .map(|&(c, x)| (r.contract(c, x).supplier(), r.contract(c, x).end()))
        .collect();
    r.set_quality(p, s, m.rules.quality_threshold / 2.0);

    // Quarter 2: its customers for that service give notice; nobody else's contract changes.
    let given = r.start_quarter();
    r.procure();
    for &(c, x) in &affected {
        let k = r.contract(c, x);
        assert!(k.notice_given(), "CCG {c} gives notice in quarter {given}");
        assert_eq!(
            k.supplier(),
            Supplier::Provider(p),
            "it stays until the end"
        );
        assert_eq!(
            k.end(),
            given + notice,
            "its contract ends notice_periods later"
        );
    }
    for (&(c, x), &(supplier, end)) in others.iter().zip(&before) {
        let k = r.contract(c, x);
        assert_eq!(
            (k.supplier(), k.end()),
            (supplier, end),
            "CCG {c}, service {x}"
        );
        assert!(!k.notice_given());
    }

    // Until then it is still the supplier and notice is not given twice.
    while r.quarter() + 1 < given + notice {
        r.start_quarter();
        r.procure();
        for &(c, x) in &affected {
            let k = r.contract(c, x);
            assert_eq!(
                (k.supplier(), k.end()),
                (Supplier::Provider(p), given + notice)
            );
        }
    }

    // In the quarter it ends, the CCG chooses again: a new contract of the full length.
    let ends = r.start_quarter();
    r.procure();
    for &(c, x) in &affected {
        let k = r.contract(c, x);
        assert_eq!(
            k.end(),
            ends + length,
            "CCG {c} chose again in quarter {ends}"
        );
        assert!(!k.notice_given());
    }
}
