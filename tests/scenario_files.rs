//! The scenario files shipped in `scenarios/`: they load, and England 2012 has the structure of
//! MODEL.md section 8 and ENGLAND-2012.md (the 25 CSUs of Checkpoint 2, 211 CCGs, the 2012
//! configurations and the observed Checkpoint 2 ratings of seed 004).

use std::collections::BTreeMap;
use std::path::PathBuf;

use csmarket::model::Market;
use csmarket::scenario::Scenario;
use csmarket::scenario::schema::{Provider, ProviderKind, Rating, ScenarioFile};

fn shipped(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn load(name: &str) -> Scenario {
    let path = shipped(name);
    Scenario::from_path(&path).unwrap_or_else(|e| panic!("{} does not load:\n{e}", path.display()))
}

fn england() -> Scenario {
    load("england-2012.toml")
}

fn resolve(s: &Scenario, configuration: &str) -> ScenarioFile {
    s.resolve(configuration)
        .unwrap_or_else(|e| panic!("configuration `{configuration}` does not resolve:\n{e}"))
}

fn provider<'a>(s: &'a ScenarioFile, id: &str) -> &'a Provider {
    s.providers
        .iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("no provider `{id}`"))
}

fn locals(s: &ScenarioFile) -> impl Iterator<Item = &Provider> {
    s.providers.iter().filter(|p| p.kind == ProviderKind::Local)
}

/// The 25 regional commissioning support services of Checkpoint 2 (seed 004), by region.
const CSUS: [(&str, &str); 25] = [
    ("north-east", "north"),
    ("north-yorkshire-humber", "north"),
    ("west-yorkshire", "north"),
    ("south-yorkshire", "north"),
    ("greater-manchester", "north"),
    ("cumbria-lancashire", "north"),
    ("merseyside", "north"),
    ("cheshire-warrington-wirral", "north"),
    ("greater-east-midlands", "midlands-east"),
    ("birmingham-black-country", "midlands-east"),
    ("arden", "midlands-east"),
    ("staffordshire", "midlands-east"),
    ("west-mercia", "midlands-east"),
    ("norfolk-waveney", "midlands-east"),
    ("essex", "midlands-east"),
    ("hertfordshire", "midlands-east"),
    ("north-west-london", "london"),
    ("north-east-london", "london"),
    ("south-london", "london"),
    ("kent-medway", "south"),
    ("surrey-sussex", "south"),
    ("css-south", "south"),
    ("central-southern", "south"),
    ("best-west", "south"),
    ("peninsula", "south"),
];

#[test]
fn shipped_scenarios_load_and_every_configuration_compiles() {
    for name in ["england-2012.toml", "tutorial.toml"] {
        let s = load(name);
        for c in s.configuration_names() {
            let resolved = resolve(&s, &c);
            let m = Market::compile(&resolved, &c)
                .unwrap_or_else(|e| panic!("{name}: configuration `{c}` does not compile: {e}"));
            assert!(!m.ccgs.is_empty(), "{name}: `{c}` has no CCGs");
            assert!(!m.providers.is_empty(), "{name}: `{c}` has no providers");
        }
    }
}

#[test]
fn england_defines_the_2012_configurations() {
    let names = england().configuration_names();
    for wanted in ["national-comms", "comms-collaboratives", "all-local"] {
        assert!(
            names.iter().any(|n| n == wanted),
            "missing configuration `{wanted}`; found {names:?}"
        );
    }
}

#[test]
fn england_has_the_25_local_csus_of_checkpoint_2_in_their_regions_each_with_a_patch() {
    let s = england();
    let base = &s.base;
    assert_eq!(locals(base).count(), 25);
    for (id, region) in CSUS {
        let p = provider(base, id);
        assert_eq!(p.kind, ProviderKind::Local, "{id}");
        assert_eq!(p.region.as_deref(), Some(region), "{id}");
        assert!(p.enabled, "{id} is a CSU of the base market");
        let patch = p
            .patch_population
            .unwrap_or_else(|| panic!("{id} has no patch_population"));
        assert!(
            (0.5e6..=5e6).contains(&patch),
            "{id}: patch of {patch} people is not an estimate in people"
        );
    }
    let regions: Vec<&str> = base.regions.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(regions, ["north", "midlands-east", "london", "south"]);
}

#[test]
fn every_local_csu_offers_every_service_in_the_base_market() {
    let s = england();
    let services: Vec<&str> = s.base.services.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(
        services,
        [
            "local-commissioning",
            "bi",
            "procurement",
            "communications",
            "business-support"
        ]
    );
    for p in locals(&s.base) {
        for sid in &services {
            assert!(
                p.services.contains_key(*sid),
                "{} does not offer {sid}",
                p.id
            );
        }
    }
}

#[test]
fn need_per_head_adds_up_to_the_nine_pounds_ccgs_planned_to_spend() {
    let total: f64 = england()
        .base
        .services
        .iter()
        .map(|s| s.need_per_head)
        .sum();
    assert!((8.5..=9.5).contains(&total), "need per head {total}");
}

#[test]
fn england_generates_211_ccgs_over_the_csu_patches() {
    let s = england();
    let g = s.base.ccgs.generate.as_ref().expect("[ccgs.generate]");
    assert_eq!(g.count, 211);
    assert_eq!(g.total_population, 53.49e6);
    for c in s.configuration_names() {
        let m = Market::compile(&resolve(&s, &c), &c).unwrap();
        assert_eq!(m.ccgs.len(), 211, "{c}");
        let total: f64 = m.ccgs.iter().map(|x| x.population).sum();
        assert!(
            (total - 53.49e6).abs() < 0.005 * 53.49e6,
            "{c}: CCGs cover {total} people"
        );
        for x in &m.ccgs {
            let host = x.host.expect("every generated CCG has a host CSU");
            assert_eq!(m.providers[host].kind, ProviderKind::Local, "{}", x.id);
            assert_eq!(m.providers[host].region, Some(x.region), "{}", x.id);
            assert!((63_100.0..=869_400.0).contains(&x.population), "{}", x.id);
        }
    }
}

#[test]
fn generated_ccg_sizes_match_april_2013_median_and_spread() {
    let s = england();
    let m = Market::compile(&resolve(&s, "all-local"), "all-local").unwrap();
    let mut sizes: Vec<f64> = m.ccgs.iter().map(|c| c.population).collect();
    sizes.sort_by(f64::total_cmp);
    let n = sizes.len();
    let median = if n % 2 == 0 {
        (sizes[n / 2 - 1] + sizes[n / 2]) / 2.0
    } else {
        sizes[n / 2]
    };
    assert!(
        (median - 221_000.0).abs() < 0.05 * 221_000.0,
        "median CCG {median}, published 221,000"
    );
    let between = sizes
        .iter()
        .filter(|&&x| (150_000.0..=300_000.0).contains(&x))
        .count();
    assert!(
        2 * between > n,
        "only {between} of {n} CCGs have 150,000-300,000 people; most should"
    );
}

#[test]
fn england_observes_the_26_checkpoint_2_ratings_of_seed_004() {
    let s = england();
    let o = s.base.observed.as_ref().expect("[observed]");
    assert_eq!(o.configuration, "national-comms");
    assert!(o.source.contains("Checkpoint 2"), "source: {}", o.source);
    assert_eq!(o.ratings.len(), 26);
    assert!(o.ratings.iter().all(|r| r.checkpoint == "cp2"));
    let cp2 = s
        .base
        .checkpoints
        .iter()
        .find(|c| c.id == "cp2")
        .expect("checkpoint cp2");
    assert_eq!(
        cp2.period, 0,
        "Checkpoint 2 rates business plans, before any contract"
    );
    let rating: BTreeMap<&str, Rating> = o
        .ratings
        .iter()
        .map(|r| (r.provider.as_str(), r.rating))
        .collect();
    assert_eq!(rating.len(), 26, "a provider is rated twice");
    for (id, _) in CSUS {
        assert!(rating.contains_key(id), "no rating for {id}");
    }
    assert_eq!(rating["west-mercia"], Rating::C);
    assert_eq!(rating["peninsula"], Rating::C);
    assert_eq!(rating["national-comms"], Rating::C);
    assert_eq!(rating["greater-manchester"], Rating::B);
    assert_eq!(rating["south-london"], Rating::B);
    assert_eq!(rating["north-east"], Rating::A);
    assert_eq!(rating["best-west"], Rating::A);
    let count = |x: Rating| rating.values().filter(|&&r| r == x).count();
    assert_eq!(
        (count(Rating::A), count(Rating::B), count(Rating::C)),
        (14, 9, 3)
    );
}

#[test]
fn provider_inputs_do_not_depend_on_observed_ratings() {
    // ENGLAND-2012.md, "A rule for honest calibration": CSUs with the same patch get the same inputs,
    // whatever their Checkpoint 2 rating (west-mercia C and cheshire-warrington-wirral A have 1.3m;
    // peninsula C, essex B and north-yorkshire-humber, kent-medway and best-west A have 1.7m).
    let s = england();
    let b = &s.base;
    for group in [
        &["west-mercia", "cheshire-warrington-wirral"][..],
        &[
            "peninsula",
            "north-yorkshire-humber",
            "essex",
            "kent-medway",
            "best-west",
        ],
    ] {
        let first = provider(b, group[0]);
        for id in &group[1..] {
            let other = provider(b, id);
            assert_eq!(first.patch_population, other.patch_population);
            assert_eq!(
                format!("{:?}{:?}", first.services, first.standards),
                format!("{:?}{:?}", other.services, other.standards),
                "{} and {id} differ in more than their observed rating",
                group[0]
            );
        }
    }
    // Every provider of a kind shares one neutral standards score.
    for kind in [
        ProviderKind::Local,
        ProviderKind::Collaborative,
        ProviderKind::National,
    ] {
        let scores: Vec<String> = b
            .providers
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| format!("{:?}", p.standards))
            .collect();
        assert!(
            scores.windows(2).all(|w| w[0] == w[1]),
            "{kind:?} providers have different standards"
        );
    }
}

#[test]
fn under_national_comms_no_csu_offers_communications_and_the_national_service_does() {
    let s = england();
    let r = resolve(&s, "national-comms");
    for p in locals(&r) {
        assert!(
            !p.services.contains_key("communications"),
            "{} still offers communications",
            p.id
        );
        assert!(p.services.contains_key("local-commissioning"), "{}", p.id);
    }
    let n = provider(&r, "national-comms");
    assert_eq!(n.kind, ProviderKind::National);
    assert!(n.enabled);
    assert!(n.region.is_none());
    assert_eq!(n.services.keys().collect::<Vec<_>>(), ["communications"]);
    for id in [
        "comms-north",
        "comms-midlands-east",
        "comms-london",
        "comms-south",
    ] {
        assert!(
            !provider(&r, id).enabled,
            "{id} is on under the March 2012 plan"
        );
    }
    // The BI and procurement networks stay as in the base.
    assert!(provider(&r, "bi-procurement-north-west").enabled);
}

#[test]
fn national_comms_is_off_in_the_base_market() {
    assert!(!provider(&england().base, "national-comms").enabled);
}

#[test]
fn under_comms_collaboratives_four_regional_networks_with_the_seed_000_leads_run_communications() {
    let s = england();
    let r = resolve(&s, "comms-collaboratives");
    assert!(!provider(&r, "national-comms").enabled);
    for (id, region, lead) in [
        ("comms-north", "north", "west-yorkshire"),
        (
            "comms-midlands-east",
            "midlands-east",
            "birmingham-black-country",
        ),
        ("comms-london", "london", "north-west-london"),
        ("comms-south", "south", "css-south"),
    ] {
        let p = provider(&r, id);
        assert!(p.enabled, "{id}");
        assert_eq!(p.kind, ProviderKind::Collaborative);
        assert_eq!(p.lead.as_deref(), Some(lead), "{id}");
        assert_eq!(p.region.as_deref(), Some(region), "{id}");
        let expected: Vec<&str> = CSUS
            .iter()
            .filter(|(_, reg)| *reg == region)
            .map(|(c, _)| *c)
            .collect();
        assert_eq!(p.members, expected, "{id}: every CSU of the region");
        assert!(p.services.contains_key("communications"), "{id}");
    }
}

#[test]
fn the_business_intelligence_and_procurement_networks_follow_seed_001() {
    let s = england();
    let b = &s.base;
    for (id, members, services) in [
        (
            "bi-ne-nyh",
            &["north-east", "north-yorkshire-humber"][..],
            &["bi"][..],
        ),
        (
            "bi-south-west-yorkshire",
            &["west-yorkshire", "south-yorkshire"],
            &["bi"],
        ),
        (
            "bi-london",
            &["north-west-london", "north-east-london", "south-london"],
            &["bi"],
        ),
        (
            "bi-south",
            &["css-south", "surrey-sussex", "kent-medway"],
            &["bi"],
        ),
        (
            "bi-procurement-north-west",
            &[
                "cumbria-lancashire",
                "greater-manchester",
                "merseyside",
                "cheshire-warrington-wirral",
            ],
            &["bi", "procurement"],
        ),
        (
            "bi-west-midlands",
            &["birmingham-black-country", "staffordshire", "arden"],
            &["bi"],
        ),
        (
            "procurement-west-midlands",
            &["birmingham-black-country", "staffordshire"],
            &["procurement"],
        ),
    ] {
        let p = provider(b, id);
        assert_eq!(p.kind, ProviderKind::Collaborative, "{id}");
        assert!(p.enabled, "{id} is part of the base market");
        let mut got: Vec<&str> = p.members.iter().map(String::as_str).collect();
        let mut want = members.to_vec();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{id} members");
        assert_eq!(p.services.keys().collect::<Vec<_>>(), services, "{id}");
        assert!(
            p.services.values().all(|o| o.capacity.is_none()),
            "{id} pools its members' capacity"
        );
    }
}

#[test]
fn under_all_local_no_collaborative_or_national_provider_is_enabled() {
    let s = england();
    let r = resolve(&s, "all-local");
    let on: Vec<&str> = r
        .providers
        .iter()
        .filter(|p| p.enabled && p.kind != ProviderKind::Local)
        .map(|p| p.id.as_str())
        .collect();
    assert!(on.is_empty(), "still enabled: {on:?}");
    assert_eq!(locals(&r).filter(|p| p.enabled).count(), 25);
    for p in locals(&r) {
        assert_eq!(p.services.len(), 5, "{} offers every service alone", p.id);
    }
}

#[test]
fn england_runs_the_2012_timeline() {
    let s = england();
    let m = &s.base.scenario;
    assert_eq!((m.seed, m.replications), (2012, 1000));
    assert_eq!(m.periods, 21);
    assert_eq!(
        m.independence, 13,
        "April 2016, when period 1 is April 2013"
    );
    assert_eq!(m.first_quarter.as_deref(), Some("2013Q2"));
    assert_eq!(s.base.rules.contract_length, 6, "18-month agreements");
    assert_eq!(s.base.rules.notice_periods, 2, "six months' notice");
    assert_eq!(s.base.finance.markup, 0.05, "the 5% surplus");
    let cps: Vec<(&str, u32)> = s
        .base
        .checkpoints
        .iter()
        .map(|c| (c.id.as_str(), c.period))
        .collect();
    assert_eq!(&cps[..2], &[("cp2", 0), ("cp3", 0)]);
    assert!(s.base.checkpoints.iter().all(|c| c.min_margin == 0.05));
}

#[test]
fn tutorial_is_a_small_market_a_newcomer_can_read() {
    let s = load("tutorial.toml");
    let b = &s.base;
    assert_eq!(b.regions.len(), 2);
    assert_eq!(b.services.len(), 2);
    assert!((8..=12).contains(&b.ccgs.list.len()));
    assert!(b.ccgs.generate.is_none(), "CCGs are listed one by one");
    assert_eq!(locals(b).count(), 3);
    let count = |k| b.providers.iter().filter(|p| p.kind == k).count();
    assert_eq!(count(ProviderKind::Collaborative), 1);
    assert_eq!(count(ProviderKind::National), 1);
    assert_eq!(b.checkpoints.len(), 2);
    assert_eq!(b.scenario.replications, 200);
    assert_eq!(
        s.configuration_names(),
        ["local", "collaborative", "national"]
    );
    // The national service is on in exactly one configuration.
    let national = b
        .providers
        .iter()
        .find(|p| p.kind == ProviderKind::National)
        .unwrap();
    let on: Vec<String> = s
        .configuration_names()
        .into_iter()
        .filter(|c| provider(&resolve(&s, c), &national.id).enabled)
        .collect();
    assert_eq!(on, ["national"]);
}

/// A large market is read in parts with no positions kept, and parsed again whole only to report
/// a problem (issue 11): the scenario read is the one TOML's whole-document reader gives, and a
/// problem deep inside still names its line, column and field path.
#[test]
fn a_problem_deep_in_a_large_generated_market_names_its_line_column_and_path() {
    use csmarket::generate::{MarketSize, generate};
    let size = MarketSize {
        ccgs: 2_110,
        providers: 250,
        regions: 40,
        seed: 2012,
    };
    let (text, scenario) = generate(&size, "gen.toml").expect("generates");
    let whole: ScenarioFile = toml::from_str(&text).expect("parses whole");
    assert_eq!(
        serde_json::to_string(&scenario.base).unwrap(),
        serde_json::to_string(&whole).unwrap()
    );
    // The first quality figure of the 200th provider, and where it is.
    let element = text.match_indices("[[providers]]").nth(199).unwrap().0;
    let line_start = element + text[element..].find("\nservices.").unwrap() + 1;
    let service = text[line_start + "services.".len()..]
        .split(' ')
        .next()
        .unwrap();
    let value = line_start + text[line_start..].find("quality = ").unwrap() + "quality = ".len();
    let end = value + text[value..].find(',').unwrap();
    let line = text[..value].matches('\n').count() + 1;
    let column = value - line_start + 1;
    let with = |v: &str| format!("{}{v}{}", &text[..value], &text[end..]);
    let error = |t: &str| {
        Scenario::from_text("gen.toml", t)
            .expect_err("is refused")
            .to_string()
    };
    let at = format!("gen.toml:{line}:{column}: providers[199].services.{service}.quality: ");
    // Out of range: found by validation, after reading in parts.
    let e = error(&with("7.5"));
    assert!(e.starts_with(&at), "expected `{at}`: {e}");
    assert!(e.contains("got 7.5; allowed: a number from 0 to 1"), "{e}");
    // The wrong type: found while reading.
    let e = error(&with("\"high\""));
    assert!(e.starts_with(&at), "expected `{at}`: {e}");
    assert!(e.contains("invalid type"), "{e}");
    // Not TOML: the line and column of the syntax error.
    let e = error(&with("0.7 0.8"));
    assert!(e.starts_with(&format!("gen.toml:{line}:")), "{e}");
}
