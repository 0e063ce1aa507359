//! MODEL.md section 10: the hosting charge, a C under `on_c = "merge"`, voluntary mergers, nested
//! choice in the engine and the ratings recorded for explanation. Each default is neutral.

use csmarket::engine::{DOMAINS, Fate, Replication, judge, rate, simulate};
use csmarket::model::Market;
use csmarket::scenario::Scenario;
use csmarket::scenario::schema::{OnC, ProviderKind};

use super::{customers_of, market};

const CHARGE: f64 = 0.5;

/// Runs quarters 1 to `last - 1` whole, then quarter `last` up to (not including) assurance.
fn before_assurance(m: &Market, rep: u64, last: u32) -> Replication<'_> {
    let mut r = Replication::new(m, rep);
    r.plan();
    for _ in 1..last {
        r.run_quarter();
    }
    r.start_quarter();
    r.procure();
    r.deliver();
    r.finance();
    r.review_prices();
    r.adjust_capacity();
    r
}

fn locals(m: &Market) -> Vec<usize> {
    (0..m.providers.len())
        .filter(|&p| m.providers[p].kind == ProviderKind::Local)
        .collect()
}

/// Sum of the offers' fixed costs over a provider's active lines.
fn own_fixed(r: &Replication<'_>, p: usize) -> f64 {
    (0..r.market().services.len())
        .map(|s| r.provider(p).line(s))
        .filter(|l| l.active())
        .map(|l| l.fixed_cost())
        .sum()
}

#[test]
fn hosting_charge_raises_a_hosted_csus_plan_price_by_its_share_per_unit() {
    let base = market("local");
    let mut charged = base.clone();
    charged.finance.hosting_charge = CHARGE;
    let (mut a, mut b) = (Replication::new(&base, 2), Replication::new(&charged, 2));
    a.plan();
    b.plan();
    // Every line of a local CSU is active here, so the charge is spread over all services' need.
    let need: f64 = base.services.iter().map(|s| s.need_per_head).sum();
    for p in locals(&base) {
        let markup = base.providers[p].markup;
        let expected = CHARGE / (need * base.rules.plan_share) * (1.0 + markup);
        for s in 0..base.services.len() {
            let rise = b.provider(p).line(s).plan_price() - a.provider(p).line(s).plan_price();
            assert!(
                (rise - expected).abs() < 1e-9,
                "{} {}: price rose {rise}, the formula says {expected}",
                base.providers[p].id,
                base.services[s].id
            );
        }
    }
}

#[test]
fn hosting_charge_lowers_the_projected_margin_while_hosted_and_ends_at_independence() {
    let mut m = market("local");
    m.finance.hosting_charge = CHARGE;
    let mut r = Replication::new(&m, 4);
    r.plan();
    for _ in 1..m.independence {
        r.run_quarter();
    }
    let open: Vec<usize> = locals(&m)
        .into_iter()
        .filter(|&p| r.provider(p).is_open())
        .collect();
    assert!(!open.is_empty());
    let booked = |r: &Replication<'_>, p: usize| -> f64 {
        (0..m.services.len())
            .filter(|&s| r.provider(p).line(s).active())
            .map(|s| r.booked_fixed_cost(p, s))
            .sum()
    };
    let hosted: Vec<(f64, f64)> = open
        .iter()
        .map(|&p| (r.projected_margin(p), booked(&r, p)))
        .collect();
    // The same contracts and prices, one quarter on: now independent.
    assert_eq!(r.start_quarter(), m.independence);
    for (&p, &(margin, fixed)) in open.iter().zip(&hosted) {
        let id = &m.providers[p].id;
        let charge = CHARGE * r.patch_population(p);
        assert!(
            (fixed - booked(&r, p) - charge).abs() < 1e-6 * charge,
            "{id}: the charge is £{CHARGE} per head of the patch"
        );
        assert!((booked(&r, p) - own_fixed(&r, p)).abs() < 1e-9, "{id}");
        assert!(
            margin < r.projected_margin(p),
            "{id}: the charge lowers the projected margin"
        );
    }
}

#[test]
fn without_a_hosting_charge_a_csu_books_only_its_offers_fixed_costs() {
    let m = market("local");
    let r = before_assurance(&m, 1, 1);
    for p in locals(&m) {
        assert_eq!(
            (0..m.services.len())
                .filter(|&s| r.provider(p).line(s).active())
                .map(|s| r.booked_fixed_cost(p, s))
                .sum::<f64>(),
            own_fixed(&r, p)
        );
    }
}

/// Puts `p` where two domains fail: no capability and prices far below cost.
fn make_fail(r: &mut Replication<'_>, p: usize) {
    r.set_capability(p, 0.0);
    for s in 0..r.market().services.len() {
        r.set_price(p, s, 0.01);
    }
}

#[test]
fn a_csu_rated_c_under_on_c_merge_merges_into_its_neighbour_with_every_customer() {
    let mut m = market("local");
    m.checkpoints[1].on_c = OnC::Merge;
    let t = m.checkpoints[1].period;
    let (f, a) = (
        m.providers.iter().position(|p| p.id == "north-a").unwrap(),
        m.providers.iter().position(|p| p.id == "north-b").unwrap(),
    );
    // A replication in which both are open with customers at the review.
    let mut r = (0..50)
        .map(|rep| before_assurance(&m, rep, t))
        .find(|r| !customers_of(r, f).is_empty() && !customers_of(r, a).is_empty())
        .expect("some replication gives both CSUs customers");
    make_fail(&mut r, f);
    let moved = customers_of(&r, f);
    let kept = customers_of(&r, a);
    assert!(!moved.is_empty(), "north-a should have customers");
    let reserves = r.provider(f).reserves() + r.provider(a).reserves();
    let patch = r.patch_population(f) + r.patch_population(a);
    r.assure();
    assert_eq!(r.provider(f).fate(), Fate::Merged);
    assert_eq!(r.provider(f).exit_quarter(), Some(t));
    assert!(customers_of(&r, f).is_empty());
    let mut expected: Vec<_> = moved.into_iter().chain(kept).collect();
    expected.sort();
    assert_eq!(customers_of(&r, a), expected, "every customer moves");
    assert_eq!(r.provider(a).reserves(), reserves, "reserves are conserved");
    assert_eq!(r.patch_population(a), patch);
    assert!((0..m.ccgs.len()).all(|c| r.host(c) != Some(f)));
}

#[test]
fn a_csu_rated_c_stops_by_default_and_a_national_service_stops_even_under_merge() {
    let m = market("local");
    let t = m.checkpoints[1].period;
    let mut r = before_assurance(&m, 6, t);
    let f = r.provider_index("north-a").unwrap();
    make_fail(&mut r, f);
    r.assure();
    assert_eq!(r.provider(f).fate(), Fate::Stopped);

    let mut m = market("national");
    m.checkpoints[1].on_c = OnC::Merge;
    let n = m
        .providers
        .iter()
        .position(|p| p.id == "national-comms")
        .unwrap();
    let mut r = (0..50)
        .map(|rep| before_assurance(&m, rep, t))
        .find(|r| r.provider(n).is_open())
        .expect("some replication keeps the national service to the review");
    make_fail(&mut r, n);
    r.assure();
    assert_eq!(r.provider(n).fate(), Fate::Stopped, "only local CSUs merge");
}

/// The local market with voluntary mergers at `synergy`, stepped to the review checkpoint with
/// north-a's prices cut by a tenth so its projected margin falls below the threshold.
fn struggling(synergy: f64, enabled: bool) -> Market {
    let mut m = market("local");
    m.consolidation.enabled = enabled;
    m.consolidation.synergy = synergy;
    // No merger at the planning checkpoint: the test looks at the review.
    m.checkpoints[0].min_margin = -10.0;
    m
}

fn cut_prices(r: &mut Replication<'_>, p: usize) {
    for s in 0..r.market().services.len() {
        let price = r.provider(p).line(s).price();
        r.set_price(p, s, price * 0.9);
    }
}

#[test]
fn a_voluntary_merger_moves_every_customer_conserves_reserves_and_saves_the_synergy() {
    let synergy = 0.9;
    let m = struggling(synergy, true);
    let t = m.checkpoints[1].period;
    let mut r = before_assurance(&m, 6, t);
    let (x, y) = (
        r.provider_index("north-a").unwrap(),
        r.provider_index("north-b").unwrap(),
    );
    assert!(r.provider(x).is_open() && r.provider(y).is_open());
    cut_prices(&mut r, x);
    assert!(r.projected_margin(x) < m.checkpoints[1].min_margin);
    let customers: Vec<_> = {
        let mut v: Vec<_> = customers_of(&r, x)
            .into_iter()
            .chain(customers_of(&r, y))
            .collect();
        v.sort();
        v
    };
    let reserves = r.provider(x).reserves() + r.provider(y).reserves();
    let fixed = own_fixed(&r, x) + own_fixed(&r, y);
    // The larger patch absorbs the smaller.
    let (absorber, absorbed) = if r.patch_population(x) > r.patch_population(y) {
        (x, y)
    } else {
        (y, x)
    };
    r.assure();
    assert_eq!(
        r.provider(absorbed).fate(),
        Fate::Merged,
        "no merger happened"
    );
    assert!(r.provider(absorber).is_open());
    assert!(customers_of(&r, absorbed).is_empty());
    assert_eq!(
        customers_of(&r, absorber),
        customers,
        "every customer moves"
    );
    assert_eq!(r.provider(absorber).reserves(), reserves);
    let after = own_fixed(&r, absorber);
    assert!(
        (after - (1.0 - synergy) * fixed).abs() < 1e-6 * fixed,
        "fixed costs {after}, expected (1 - {synergy}) x {fixed}"
    );
}

#[test]
fn without_synergy_or_when_disabled_no_voluntary_merger_happens() {
    // Without synergy the pair's margin is an average of the two, so it never beats the partner's.
    for (synergy, enabled) in [(0.0, true), (0.9, false)] {
        let m = struggling(synergy, enabled);
        let t = m.checkpoints[1].period;
        let mut r = before_assurance(&m, 6, t);
        let x = r.provider_index("north-a").unwrap();
        cut_prices(&mut r, x);
        r.assure();
        for p in locals(&m) {
            assert_ne!(r.provider(p).fate(), Fate::Merged, "synergy {synergy}");
        }
    }
}

#[test]
fn section_10_defaults_and_neutral_settings_change_nothing() {
    let base = market("collaborative");
    let mut neutral = base.clone();
    neutral.choice.nests.other_nhs = 1.0;
    neutral.consolidation.enabled = true;
    neutral.consolidation.synergy = 0.0;
    neutral.finance.hosting_charge = 0.0;
    for rep in 0..20 {
        assert_eq!(simulate(&base, rep), simulate(&neutral, rep), "rep {rep}");
    }
}

#[test]
fn a_small_other_nhs_dissimilarity_raises_the_share_intended_for_the_host() {
    // A nest of one option is the plain logit whatever its lambda, so this needs regions with
    // several CSUs: England's, each CSU alone.
    let s = Scenario::from_text(
        "england-2012.toml",
        include_str!("../../scenarios/england-2012.toml"),
    )
    .unwrap();
    let base = Market::compile(&s.resolve("all-local").unwrap(), "all-local").unwrap();
    let mut nested = base.clone();
    nested.choice.nests.other_nhs = 0.1;
    let mean = |m: &Market| -> f64 {
        (0..10)
            .map(|rep| simulate(m, rep).intended_host_share)
            .sum::<f64>()
            / 10.0
    };
    let (plain, with_nests) = (mean(&base), mean(&nested));
    assert!(
        with_nests > plain,
        "host share {with_nests} with nests, {plain} without"
    );
}

#[test]
fn every_rating_is_recorded_with_its_domains_and_open_providers_by_kind() {
    let m = market("collaborative");
    let o = simulate(&m, 3);
    let rated: usize = o
        .providers
        .iter()
        .flat_map(|p| &p.ratings)
        .filter(|&&x| x > 0)
        .count();
    assert_eq!(o.ratings.len(), rated, "one record per rating given");
    for rec in &o.ratings {
        let cp = &m.checkpoints[rec.checkpoint];
        assert_eq!(
            o.providers[rec.provider].ratings[rec.checkpoint],
            1 + rec.rating as u8
        );
        let thresholds = [cp.min_customer_share, cp.min_margin, cp.min_capability];
        let pairs = rec.domains.map(|d| (d.value, d.threshold));
        assert_eq!(rate(&pairs, cp.marginal_band), rec.rating);
        for (i, d) in rec.domains.iter().enumerate() {
            assert_eq!(d.threshold, thresholds[i], "{}", DOMAINS[i]);
            assert_eq!(*d, judge(d.value, d.threshold, cp.marginal_band));
        }
    }
    let kinds = |k: ProviderKind| m.providers.iter().filter(|p| p.kind == k).count() as u32;
    let counts = [
        kinds(ProviderKind::Local),
        kinds(ProviderKind::Collaborative),
        kinds(ProviderKind::National),
    ];
    for f in &o.series {
        assert_eq!(f.open_by_kind.iter().sum::<u32>(), f.open_providers);
        assert!(f.open_by_kind.iter().zip(&counts).all(|(a, b)| a <= b));
    }
    assert!(o.planning_open_by_kind[0] > 0);
}
