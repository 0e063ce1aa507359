//! Results are reproducible: the same scenario and seed give the same bits for any thread count,
//! and configurations share random draws (common random numbers).

use csmarket::engine::{self, ReplicationOutcome};
use csmarket::experiment::{self, Summary};
use csmarket::model::Market;
use csmarket::scenario::Scenario;

use super::SMALL;

fn market(config: &str) -> Market {
    let s = Scenario::from_text("small.toml", SMALL).unwrap();
    Market::compile(&s.resolve(config).unwrap(), config).unwrap()
}

fn run(m: &Market, threads: usize, n: u64) -> (Summary, Vec<ReplicationOutcome>) {
    let mut rows = Vec::new();
    let s = experiment::run(
        m,
        0..n,
        threads,
        &mut |r| {
            rows.push(r.clone());
            Ok(())
        },
        &|_| {},
    )
    .unwrap();
    (s, rows)
}

#[test]
fn results_are_bit_identical_for_1_2_and_16_threads() {
    let m = market("collaborative");
    // More than one block, so folding across blocks is exercised too.
    let n = experiment::BLOCK + 300;
    let (s1, r1) = run(&m, 1, n);
    for threads in [2, 16] {
        let (s, r) = run(&m, threads, n);
        assert_eq!(s, s1, "summary differs with {threads} threads");
        assert_eq!(r, r1, "replication rows differ with {threads} threads");
        let a = serde_json::to_string(&s).unwrap();
        let b = serde_json::to_string(&s1).unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn repeated_runs_give_the_same_results() {
    let m = market("national");
    assert_eq!(run(&m, 2, 200).0, run(&m, 2, 200).0);
}

#[test]
fn a_different_seed_gives_different_results() {
    let mut m = market("national");
    let a = run(&m, 2, 200).0;
    m.seed += 1;
    assert_ne!(run(&m, 2, 200).0, a);
}

#[test]
fn common_random_numbers_a_change_in_one_region_leaves_the_other_untouched() {
    // `local` and `collaborative` differ only by the northern BI network; the South sees the same
    // draws in both, so its provider's whole story is identical replication by replication.
    let (a, b) = (market("local"), market("collaborative"));
    let south = |m: &Market| m.providers.iter().position(|p| p.id == "south-a").unwrap();
    let north = |m: &Market| m.providers.iter().position(|p| p.id == "north-a").unwrap();
    let mut north_differs = 0;
    for rep in 0..100 {
        let (x, y) = (engine::simulate(&a, rep), engine::simulate(&b, rep));
        assert_eq!(
            x.providers[south(&a)],
            y.providers[south(&b)],
            "replication {rep}"
        );
        if x.providers[north(&a)] != y.providers[north(&b)] {
            north_differs += 1;
        }
    }
    // The change itself matters where it applies.
    assert!(north_differs > 0);
}

/// The small market grown to 6,000 generated CCGs: above the size at which a replication's
/// choices run in parallel.
fn large_market() -> Market {
    let text = SMALL
        .replacen("[[ccgs.list]]", "[ccgs.generate]\ncount = 6000\ntotal_population = 1.5e9\nmax_population = 1e6\n\n[[ccgs.list]]", 1)
        .replace("region = \"north\"\nservices.bi", "region = \"north\"\npatch_population = 5e8\nservices.bi")
        .replace("region = \"south\"\nservices.bi", "region = \"south\"\npatch_population = 4e8\nservices.bi");
    let s = Scenario::from_text("large.toml", &text).unwrap();
    let m = Market::compile(&s.resolve("collaborative").unwrap(), "collaborative").unwrap();
    assert!(m.ccgs.len() > 6000);
    m
}

#[test]
fn one_replication_of_a_large_market_is_identical_on_one_and_four_threads() {
    let m = large_market();
    let on = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| engine::simulate(&m, 4))
    };
    let one = on(1);
    assert_eq!(one, on(4));
    assert!(one.providers.iter().any(|p| p.customers > 100));
}

#[test]
fn a_workspace_reused_by_one_worker_gives_every_replication_the_bits_of_a_fresh_one() {
    // Markets of other shapes: 3 or 5 services, 8, 211 or 6,000 CCGs, 4 to 36 providers, with
    // and without networks; the large one's choices run in parallel inside the replication.
    let england = Scenario::from_text(
        "england-2012.toml",
        include_str!("../../scenarios/england-2012.toml"),
    )
    .unwrap();
    let england = |c: &str| Market::compile(&england.resolve(c).unwrap(), c).unwrap();
    let markets = [
        market("local"),
        market("collaborative"),
        england("comms-collaboratives"),
        england("national-comms"),
        large_market(),
    ];
    assert_ne!(markets[0].services.len(), markets[2].services.len());
    // Each replication runs in the buffers another market's replication left, in an order
    // unlike the index order, and again after others.
    let order = [
        (2, 7),
        (0, 3),
        (4, 1),
        (1, 3),
        (3, 7),
        (0, 9),
        (2, 1),
        (1, 9),
        (0, 3),
        (2, 7),
    ];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let mut ws = engine::Workspace::default();
    for (k, rep) in order {
        let m = &markets[k];
        let (reused, fresh) = pool.install(|| {
            (
                engine::simulate_in(m, rep, &mut ws),
                engine::simulate(m, rep),
            )
        });
        assert_eq!(reused, fresh, "market {k}, replication {rep}");
        // Every float's bits (Debug prints the shortest string that reads back to the same bits).
        assert_eq!(format!("{reused:?}"), format!("{fresh:?}"));
    }
}

#[test]
fn a_run_reusing_workspaces_equals_replications_simulated_alone() {
    let m = market("collaborative");
    let (_, rows) = run(&m, 1, 300);
    for (rep, row) in rows.iter().enumerate() {
        assert_eq!(*row, engine::simulate(&m, rep as u64), "replication {rep}");
    }
}
