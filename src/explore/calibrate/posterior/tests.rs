//! Tests of reading a posterior sample and attaching its markets.

use super::*;

fn scenario() -> Scenario {
    Scenario::from_text(
        "small.toml",
        include_str!("../../../../tests/fixtures/small.toml"),
    )
    .unwrap()
}

#[test]
fn draws_follow_the_weights_and_never_pick_a_weightless_row() {
    let s = scenario();
    let text =
        "particle,services.comms.locality,weight,distance\n0,0.1,0,1\n1,0.5,3,1\n2,0.9,1,1\n";
    let p = Posterior::from_text("p.csv", text, &s).unwrap();
    let mut counts = [0u32; 3];
    for r in 0..4000 {
        counts[p.draw(7, r)] += 1;
    }
    assert_eq!(counts[0], 0);
    let share = f64::from(counts[1]) / 4000.0;
    assert!((share - 0.75).abs() < 0.03, "{counts:?}");
    assert_eq!(p.draw(7, 11), p.draw(7, 11));
}

#[test]
fn a_value_the_configuration_sets_is_kept_and_the_rest_of_the_row_applies() {
    let text = include_str!("../../../../tests/fixtures/small.toml").replace(
        "name = \"national\"",
        "name = \"national\"\nset = { \"services.comms.locality\" = 0.02 }",
    );
    let s = Scenario::from_text("small.toml", &text).unwrap();
    let p = Posterior::from_text(
        "p.csv",
        "services.comms.locality,services.bi.locality,weight\n0.9,0.5,1\n",
        &s,
    )
    .unwrap();
    let row = p.edits(0);
    let kept = Posterior::under_configuration(&row, &s, "national");
    assert_eq!(
        kept.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        ["services.bi.locality"]
    );
    assert_eq!(Posterior::under_configuration(&row, &s, "local"), row);
    assert_eq!(p.source().rows, 1);
    assert_eq!(p.source().sha256.len(), 64);
}

#[test]
fn bad_files_are_refused_with_line_and_column() {
    let s = scenario();
    let e = Posterior::from_text("p.csv", "a,weight\n1,1\n", &s).unwrap_err();
    assert!(e.contains("line 1, column 1") && e.contains("`a`"), "{e}");
    let e = Posterior::from_text("p.csv", "services.comms.locality\n1\n", &s).unwrap_err();
    assert!(e.contains("no `weight` column"), "{e}");
    let e =
        Posterior::from_text("p.csv", "services.comms.locality,weight\n0.5,x\n", &s).unwrap_err();
    assert!(e.contains("line 2, column 2"), "{e}");
    let e =
        Posterior::from_text("p.csv", "services.comms.locality,weight\n0.5,0\n", &s).unwrap_err();
    assert!(e.contains("positive weight"), "{e}");
}

/// Every row's scenario the short way (the configuration made once, the row set on a copy)
/// and the long way (the scenario's document edited afresh), and their compiled markets, for
/// every configuration: the same bit for bit (`Debug` prints every float exactly).
fn short_and_long_ways_agree(scenario: &Scenario, p: &Posterior) {
    for c in scenario.configuration_names() {
        let prepared = scenario.prepare(&c);
        (0..p.rows.len()).into_par_iter().for_each(|i| {
            let row = Posterior::under_configuration(&p.edits(i), scenario, &c);
            let quick = prepared
                .resolve_quickly(&row)
                .unwrap_or_else(|| panic!("{c}, row {i}: the short way was not taken"));
            let long = scenario.resolve_with(&c, &row).unwrap();
            assert_eq!(format!("{quick:?}"), format!("{long:?}"), "{c}, row {i}");
            let compile = |s| format!("{:?}", Market::compile(s, &c).unwrap());
            assert_eq!(compile(&quick), compile(&long), "{c}, row {i}");
        });
    }
}

#[test]
fn every_row_of_the_england_2012_posterior_gives_the_same_market_either_way() {
    let s = Scenario::from_text(
        "england-2012.toml",
        include_str!("../../../../scenarios/england-2012.toml"),
    )
    .unwrap();
    let p = Posterior::from_text(
        "england-2012.posterior.csv",
        include_str!("../../../../scenarios/england-2012.posterior.csv"),
        &s,
    )
    .unwrap();
    assert_eq!(p.rows.len(), 1000);
    short_and_long_ways_agree(&s, &p);
}

#[test]
fn a_scenario_read_whole_gives_the_same_market_either_way() {
    // A quoted table name leaves the file whole (scenario::split): no array split off.
    let text = include_str!("../../../../tests/fixtures/small.toml").replacen(
        "[scenario]",
        "[\"scenario\"]",
        1,
    );
    assert!(crate::scenario::split::layout(&text).is_none());
    let s = Scenario::from_text("small.toml", &text).unwrap();
    let mut csv = "services.comms.locality,services.bi.need_per_head,ccgs.list.n2.population,\
                   weight\n"
        .to_string();
    for i in 0..40 {
        let x = f64::from(i) / 40.0;
        csv += &format!("{x},{},{},1\n", 0.5 + x, 100_000.0 + 5_000.3 * x);
    }
    let p = Posterior::from_text("p.csv", &csv, &s).unwrap();
    short_and_long_ways_agree(&s, &p);
    short_and_long_ways_agree(&scenario(), &p);
}

#[test]
fn a_bad_posterior_value_is_reported_as_the_long_way_reports_it() {
    let s = scenario();
    for c in ["national", "local"] {
        let prepared = s.prepare(c);
        for (path, value) in [
            ("services.comms.locality", Value::Float(1.5)),
            ("services.bi.need_per_head", Value::Float(-0.25)),
            ("services.nothing.locality", Value::Float(0.5)),
            ("providers.north-a.services.bi", Value::Float(0.5)),
        ] {
            let row = [Edit {
                path: path.into(),
                value,
            }];
            assert!(prepared.resolve_quickly(&row).is_none(), "{c} {path}");
            let long = s.resolve_with(c, &row).unwrap_err().to_string();
            let short = prepared.resolve_with(&row).unwrap_err().to_string();
            assert_eq!(short, long);
            assert!(long.contains(&format!("configuration `{c}`")), "{long}");
        }
    }
    // Through a run: the file, row and line, then the scenario's own message.
    let p = Arc::new(
        Posterior::from_text(
            "p.csv",
            "services.comms.locality,weight\n0.5,1\n1.5,1\n",
            &s,
        )
        .unwrap(),
    );
    let prepared = s.prepare("national");
    let build = |row: &[Edit]| -> Result<Market, String> {
        let r = prepared.resolve_with(row).map_err(|e| e.to_string())?;
        Market::compile(&r, "national").map_err(|e| e.to_string())
    };
    let long = s
        .resolve_with("national", &p.edits(1))
        .unwrap_err()
        .to_string();
    let check = |row: &[Edit]| {
        prepared
            .resolve_with(row)
            .map(drop)
            .map_err(|e| e.to_string())
    };
    let mut m = Market::compile(&s.resolve("national").unwrap(), "national").unwrap();
    let e = p.attach_for(&mut m, 0..50, &build, &check).unwrap_err();
    assert_eq!(e, format!("p.csv: row 1 (line 3): {long}"));
}

#[test]
fn a_bad_row_no_replication_draws_is_refused_all_the_same() {
    let s = scenario();
    let mut csv = "services.comms.locality,weight\n".to_string();
    for i in 0..40 {
        csv += &format!("{},1\n", if i == 17 { 1.5 } else { 0.5 });
    }
    let p = Arc::new(Posterior::from_text("p.csv", &csv, &s).unwrap());
    let mut base = Market::compile(&s.resolve("national").unwrap(), "national").unwrap();
    base.seed = 5;
    let one = (0..40).find(|&r| p.draw(5, r) != 17).unwrap();
    assert!(!p.rows_drawn(5, one..one + 1).contains(&17));
    let prepared = s.prepare("national");
    let compiled = std::sync::atomic::AtomicUsize::new(0);
    let build = |row: &[Edit]| -> Result<Market, String> {
        compiled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = prepared.resolve_with(row).map_err(|e| e.to_string())?;
        Market::compile(&r, "national").map_err(|e| e.to_string())
    };
    let check = |row: &[Edit]| {
        prepared
            .resolve_with(row)
            .map(drop)
            .map_err(|e| e.to_string())
    };
    let e = p
        .attach_for(&mut base, one..one + 1, &build, &check)
        .unwrap_err();
    assert!(e.starts_with("p.csv: row 17 (line 19): "), "{e}");
    // Only the drawn row's market was compiled; the other 39 were checked, not compiled.
    assert_eq!(compiled.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[test]
fn only_the_rows_a_range_draws_are_compiled_and_each_gives_the_market_any_range_gives() {
    let s = scenario();
    let mut csv = "services.comms.locality,weight\n".to_string();
    for i in 0..30 {
        csv += &format!("{},{}\n", f64::from(i) / 30.0, 1 + i % 3);
    }
    let p = Arc::new(Posterior::from_text("p.csv", &csv, &s).unwrap());
    let prepared = s.prepare("national");
    let built = std::sync::atomic::AtomicUsize::new(0);
    let build = |row: &[Edit]| -> Result<Market, String> {
        built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = prepared.resolve_with(row).map_err(|e| e.to_string())?;
        Market::compile(&r, "national").map_err(|e| e.to_string())
    };
    let mut base = Market::compile(&s.resolve("national").unwrap(), "national").unwrap();
    base.seed = 11;
    let mut every = base.clone();
    p.attach(&mut every, &build).unwrap();
    let every = every.variants.unwrap();
    for range in [0..8, 8..40, 0..40, 3..4] {
        built.store(0, std::sync::atomic::Ordering::Relaxed);
        let mut some = base.clone();
        p.attach_for(&mut some, range.clone(), &build, &|_| Ok(()))
            .unwrap();
        let drawn = p.rows_drawn(11, range.clone());
        assert_eq!(
            built.load(std::sync::atomic::Ordering::Relaxed),
            drawn.len()
        );
        assert!(drawn.len() <= (range.end - range.start) as usize);
        let some = some.variants.unwrap();
        for r in range {
            assert!(drawn.contains(&p.draw(11, r)));
            assert_eq!(
                format!("{:?}", some.market_for(r)),
                format!("{:?}", every.market_for(r)),
                "replication {r}"
            );
        }
    }
}
