//! The agenda's rounds against rounds over every CCG: the same contracts after every quarter.

use super::Seen;
use crate::engine::state::Replication;
use crate::engine::testing::market;
use crate::model::Market;
use crate::scenario::Scenario;
use crate::scenario::schema::Nests;

/// Runs replication `rep` of `m` twice, quarter by quarter: as the engine does (rounds of the CCGs
/// due only, or skipped), and visiting every CCG in every round as before the agenda. Every CCG's
/// contract for every service (supplier, end, notice) and the decisions must be the same after
/// planning and after every quarter, and so must the outcomes. Returns what the rounds did.
fn same_with_every_ccg_visited(m: &Market, rep: u64, what: &str) -> Seen {
    let mut fast = Replication::new(m, rep);
    let mut every = Replication::new(m, rep);
    every.agenda.every_ccg = true;
    fast.plan();
    every.plan();
    let state = |w: &Replication| format!("{} {:?}", w.decisions, w.contracts);
    assert_eq!(state(&fast), state(&every), "{what} rep {rep}: planning");
    for _ in 1..m.periods {
        fast.run_quarter();
        every.run_quarter();
        let t = fast.quarter;
        assert_eq!(state(&fast), state(&every), "{what} rep {rep}: quarter {t}");
    }
    let seen = fast.agenda.seen;
    assert_eq!(every.agenda.seen.skipped + every.agenda.seen.partial, 0);
    assert_eq!(
        fast.finish().0,
        every.finish().0,
        "{what} rep {rep}: outcome"
    );
    seen
}

fn add(total: &mut Seen, s: Seen) {
    total.whole += s.whole;
    total.partial += s.partial;
    total.skipped += s.skipped;
    total.stranded += s.stranded;
    total.notices += s.notices;
}

fn nests([in_house, host_network, other_nhs, independent]: [f64; 4]) -> Nests {
    Nests {
        in_house,
        host_network,
        other_nhs,
        independent,
    }
}

#[test]
fn a_round_the_agenda_skips_or_shortens_would_have_changed_no_contract() {
    let mut total = Seen::default();
    // The small market's three configurations; a higher quality threshold gives notices, a
    // nested choice takes the batch path.
    for config in ["local", "collaborative", "national"] {
        for (threshold, lambdas) in [
            (None, None),
            (Some(0.55), None),
            (Some(0.7), Some([1.0, 0.7, 0.3, 1.0])),
        ] {
            let mut m = market(config);
            if let Some(q) = threshold {
                m.rules.quality_threshold = q;
            }
            if let Some(l) = lambdas {
                m.choice.nests = nests(l);
            }
            for rep in 0..25 {
                let what = format!("{config} {threshold:?} {lambdas:?}");
                add(&mut total, same_with_every_ccg_visited(&m, rep, &what));
            }
        }
    }
    // England 2012: stops at checkpoints, failures and, with a synergy, voluntary mergers (hosts
    // and contracts move between CSUs); nested, as the calibrated market chooses.
    let text = include_str!("../../../scenarios/england-2012.toml");
    let s = Scenario::from_text("england-2012.toml", text).unwrap();
    for (config, synergy, threshold) in [
        ("comms-collaboratives", 0.3, None),
        ("national-comms", 0.0, Some(0.5)),
        ("all-local", 0.3, None),
    ] {
        let mut m = Market::compile(&s.resolve(config).unwrap(), config).unwrap();
        m.consolidation.synergy = synergy;
        if let Some(q) = threshold {
            m.rules.quality_threshold = q;
        }
        m.choice.nests = nests([0.8, 0.5, 0.6, 1.0]);
        for rep in 0..3 {
            add(&mut total, same_with_every_ccg_visited(&m, rep, config));
        }
    }
    // Every case of the rule was met: rounds skipped, rounds of the due CCGs only, CCGs marked
    // because a supplier went, notices given by the line scan.
    assert!(
        total.skipped > 0
            && total.partial > 0
            && total.whole > 0
            && total.stranded > 0
            && total.notices > 0,
        "{total:?}"
    );
}
