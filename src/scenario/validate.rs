//! Checks a parsed scenario against the rules serde cannot express: ranges, references, uniqueness.
//! Every problem is collected, so `csmarket validate` reports them all at once.

use std::collections::{BTreeMap, BTreeSet};

use super::limits::{
    MAX_ALLOWANCE, MAX_CAPACITY, MAX_CONTRACT_QUARTERS, MAX_GENERATED_CCGS, MAX_MONEY,
    MAX_NEED_PER_HEAD, MAX_PERIODS, MAX_POPULATION, MAX_REPLICATIONS, MAX_TOTAL_POPULATION,
    MAX_UNIT_MONEY,
};
use super::schema::{ProviderKind, Rating, ScenarioFile};

/// A problem found by validation: field path and message, without position.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Field path.
    pub path: String,
    /// What was wrong and what is allowed.
    pub message: String,
}

mod checker;
mod extensions;
mod targets;

use checker::{Checker, Entry};

/// Checks the scenario and returns every problem found (empty when valid).
pub fn validate(s: &ScenarioFile) -> Vec<Finding> {
    let mut c = Checker {
        findings: Vec::new(),
    };
    let m = &s.scenario;
    // At least the planning quarter and one more.
    c.count(
        "scenario.periods",
        m.periods.into(),
        2,
        MAX_PERIODS.into(),
        "quarters",
    );
    if m.independence > m.periods {
        c.fail(
            "scenario.independence",
            format!(
                "must be at most scenario.periods ({}), got {}",
                m.periods, m.independence
            ),
        );
    }
    if let Some(q) = &m.first_quarter {
        if super::schema::parse_quarter(q).is_none() {
            c.fail(
                "scenario.first_quarter",
                format!("must be a calendar quarter written YYYYQn, e.g. \"2013Q2\", got {q:?}"),
            );
        }
    }
    let v = &s.viability;
    if !(v.survival > 0.0 && v.survival <= 1.0) {
        c.fail(
            "viability.survival",
            format!("must be a probability in (0, 1], got {}", v.survival),
        );
    }
    // A set, so naming every provider of a generated market stays linear.
    let ids: BTreeSet<&str> = if v.providers.is_empty() {
        BTreeSet::new()
    } else {
        s.providers.iter().map(|p| p.id.as_str()).collect()
    };
    for (i, id) in v.providers.iter().enumerate() {
        if !ids.contains(id.as_str()) {
            c.fail(
                format!("viability.providers[{i}]"),
                format!("names no provider of the scenario: {id:?}"),
            );
        }
    }
    c.count(
        "scenario.replications",
        m.replications.into(),
        1,
        MAX_REPLICATIONS,
        "replications",
    );

    let r = &s.rules;
    let quarters = MAX_CONTRACT_QUARTERS.into();
    c.count(
        "rules.contract_length",
        r.contract_length.into(),
        1,
        quarters,
        "quarters",
    );
    c.count(
        "rules.notice_periods",
        r.notice_periods.into(),
        0,
        quarters,
        "quarters",
    );
    c.unit("rules.quality_threshold", r.quality_threshold);
    c.range("rules.quality_sd", r.quality_sd, 0.0, 1.0);
    c.range("rules.capability_sd", r.capability_sd, 0.0, 1.0);
    c.range(
        "rules.overload_quality_loss",
        r.overload_quality_loss,
        0.0,
        10.0,
    );
    c.range("rules.plan_share", r.plan_share, 0.0, 1.0);
    if r.plan_share <= 0.0 {
        c.fail(
            "rules.plan_share",
            "must be greater than 0 (a business plan needs some volume)",
        );
    }

    let f = &s.finance;
    c.range("finance.markup", f.markup, -0.5, 5.0);
    c.range("finance.max_price_change", f.max_price_change, 0.0, 10.0);
    c.unit("finance.hire_rate", f.hire_rate);
    c.unit("finance.shed_rate", f.shed_rate);
    c.range("finance.idle_cost_share", f.idle_cost_share, 0.0, 10.0);
    c.range("finance.redundancy_cost", f.redundancy_cost, 0.0, 100.0);
    c.range(
        "finance.insolvency_threshold",
        f.insolvency_threshold,
        -10.0,
        10.0,
    );
    c.range("finance.cost_per_fte", f.cost_per_fte, 1.0, MAX_UNIT_MONEY);
    extensions::check(&mut c, s);

    let l = &s.closeness;
    for (k, v) in [
        ("in_house", l.in_house),
        ("host", l.host),
        ("member_collaborative", l.member_collaborative),
        ("same_region_local", l.same_region_local),
        ("region_collaborative", l.region_collaborative),
        ("other", l.other),
    ] {
        c.unit(format_args!("closeness.{k}"), v);
    }
    let p = &s.preferences;
    c.normal("preferences.price", &p.price);
    c.normal("preferences.quality", &p.quality);
    c.normal("preferences.locality", &p.locality);
    c.normal("preferences.inertia", &p.inertia);
    c.range("demand.multiplier_sd", s.demand.multiplier_sd, 0.0, 3.0);

    // Empty markets have nothing to simulate.
    if s.regions.is_empty() {
        c.fail(
            "regions",
            "the market has no regions; at least one is required",
        );
    }
    if s.services.is_empty() {
        c.fail(
            "services",
            "the market has no service lines; at least one is required",
        );
    }
    if s.ccgs.list.is_empty() && s.ccgs.generate.is_none() {
        c.fail(
            "ccgs",
            "the market has no CCGs; list some under [[ccgs.list]] or add [ccgs.generate]",
        );
    }

    let regions = c.unique(
        "region",
        |i| format!("regions[{i}].id"),
        s.regions.iter().map(|r| r.id.as_str()),
    );
    let services = c.unique(
        "service",
        |i| format!("services[{i}].id"),
        s.services.iter().map(|x| x.id.as_str()),
    );
    let providers = c.unique(
        "provider",
        |i| format!("providers[{i}].id"),
        s.providers.iter().map(|x| x.id.as_str()),
    );
    c.unique(
        "CCG",
        |i| format!("ccgs.list[{i}].id"),
        s.ccgs.list.iter().map(|x| x.id.as_str()),
    );
    let checkpoints = c.unique(
        "checkpoint",
        |i| format!("checkpoints[{i}].id"),
        s.checkpoints.iter().map(|x| x.id.as_str()),
    );
    c.unique(
        "configuration",
        |i| format!("configurations[{i}].name"),
        s.configurations.iter().map(|x| x.name.as_str()),
    );

    for (i, sv) in s.services.iter().enumerate() {
        let at = Entry("services", i);
        let need = sv.need_per_head;
        c.range(
            format_args!("{at}.need_per_head"),
            need,
            0.0,
            MAX_NEED_PER_HEAD,
        );
        // Prices are compared as ratios to the reference price, so it may not be near 0.
        let reference = sv.reference_price;
        c.range(
            format_args!("{at}.reference_price"),
            reference,
            1e-6,
            MAX_UNIT_MONEY,
        );
        c.unit(format_args!("{at}.locality"), sv.locality);
        let ih = &sv.in_house;
        c.range(
            format_args!("{at}.in_house.fixed_cost"),
            ih.fixed_cost,
            0.0,
            MAX_MONEY,
        );
        c.range(
            format_args!("{at}.in_house.unit_cost"),
            ih.unit_cost,
            0.0,
            MAX_UNIT_MONEY,
        );
        c.unit(format_args!("{at}.in_house.quality"), sv.in_house.quality);
        let price = sv.independent.price;
        c.range(
            format_args!("{at}.independent.price"),
            price,
            0.0,
            MAX_UNIT_MONEY,
        );
        c.unit(
            format_args!("{at}.independent.quality"),
            sv.independent.quality,
        );
    }

    let kind_of: BTreeMap<&str, ProviderKind> = s
        .providers
        .iter()
        .map(|p| (p.id.as_str(), p.kind))
        .collect();
    let locals: BTreeSet<&str> = s
        .providers
        .iter()
        .filter(|p| p.kind == ProviderKind::Local)
        .map(|p| p.id.as_str())
        .collect();

    // Configurations switch providers off; what refers to one must then be switched off too.
    let disabled: BTreeSet<&str> = s
        .providers
        .iter()
        .filter(|p| !p.enabled)
        .map(|p| p.id.as_str())
        .collect();
    let region_of: BTreeMap<&str, Option<&str>> = s
        .providers
        .iter()
        .map(|p| (p.id.as_str(), p.region.as_deref()))
        .collect();
    for (i, x) in s.ccgs.list.iter().enumerate() {
        let at = Entry("ccgs.list", i);
        c.reference(format_args!("{at}.region"), &x.region, &regions, "region");
        c.range(
            format_args!("{at}.population"),
            x.population,
            1.0,
            MAX_POPULATION,
        );
        c.range(
            format_args!("{at}.allowance"),
            x.allowance,
            0.0,
            MAX_ALLOWANCE,
        );
        if let Some(h) = &x.host {
            c.reference(format_args!("{at}.host"), h, &locals, "local CSU");
            if disabled.contains(h.as_str()) {
                c.fail(
                    format!("{at}.host"),
                    format!("host `{h}` is disabled; a CCG's host CSU must be enabled"),
                );
            }
            if let Some(r) = region_of
                .get(h.as_str())
                .copied()
                .flatten()
                .filter(|r| *r != x.region)
            {
                c.fail(
                    format!("{at}.host"),
                    format!("host `{h}` serves region `{r}`, not the CCG's region `{}`; a CSU's patch lies in its region", x.region),
                );
            }
        }
    }
    if let Some(g) = &s.ccgs.generate {
        let most = MAX_GENERATED_CCGS.into();
        c.count("ccgs.generate.count", g.count.into(), 1, most, "CCGs");
        let total = g.total_population;
        c.range(
            "ccgs.generate.total_population",
            total,
            1.0,
            MAX_TOTAL_POPULATION,
        );
        c.range("ccgs.generate.size_sigma", g.size_sigma, 0.0, 3.0);
        let (lo, hi) = (g.min_population, g.max_population);
        c.range("ccgs.generate.min_population", lo, 1.0, MAX_POPULATION);
        c.range("ccgs.generate.max_population", hi, 1.0, MAX_POPULATION);
        if g.min_population > g.max_population {
            c.fail(
                "ccgs.generate.min_population",
                "must not exceed ccgs.generate.max_population",
            );
        }
        c.range("ccgs.generate.allowance", g.allowance, 0.0, MAX_ALLOWANCE);
        let patches = s
            .providers
            .iter()
            .filter(|p| p.kind == ProviderKind::Local && p.enabled);
        if !patches
            .clone()
            .any(|p| p.patch_population.is_some_and(|v| v > 0.0))
        {
            c.fail(
                "ccgs.generate",
                "CCGs are generated over local CSUs' patches, but no enabled local CSU has a patch_population > 0",
            );
        }
    }

    for (i, p) in s.providers.iter().enumerate() {
        let at = Entry("providers", i);
        match (&p.region, p.kind) {
            (Some(r), _) => c.reference(format_args!("{at}.region"), r, &regions, "region"),
            (None, ProviderKind::National) => {}
            (None, k) => c.fail(
                format!("{at}.region"),
                format!("a {} provider needs a region", k.as_str()),
            ),
        }
        if p.kind == ProviderKind::National && p.region.is_some() {
            c.fail(
                format!("{at}.region"),
                "a national provider serves every region and takes no region",
            );
        }
        if let Some(v) = p.patch_population {
            c.range(
                format_args!("{at}.patch_population"),
                v,
                0.0,
                MAX_TOTAL_POPULATION,
            );
            if p.kind != ProviderKind::Local {
                c.fail(
                    format!("{at}.patch_population"),
                    "only local CSUs have a patch",
                );
            }
        }
        if let Some(mk) = p.markup {
            c.range(format_args!("{at}.markup"), mk, -0.5, 5.0);
        }
        c.range(
            format_args!("{at}.reserves"),
            p.reserves,
            -MAX_MONEY,
            MAX_MONEY,
        );
        let coordination = p.coordination_cost;
        c.range(
            format_args!("{at}.coordination_cost"),
            coordination,
            0.0,
            MAX_MONEY,
        );
        let st = &p.standards;
        for (k, v) in [
            ("leadership", st.leadership),
            ("people", st.people),
            ("process", st.process),
            ("partnerships", st.partnerships),
        ] {
            c.unit(format_args!("{at}.standards.{k}"), v);
        }
        if p.kind == ProviderKind::Collaborative {
            if p.members.is_empty() {
                c.fail(
                    format!("{at}.members"),
                    "a collaborative needs at least one member",
                );
            }
            let mut seen = BTreeSet::new();
            for (j, m) in p.members.iter().enumerate() {
                let mp = format_args!("{at}.members[{j}]");
                if !seen.insert(m.as_str()) {
                    c.fail(mp.to_string(), format!("member `{m}` is listed twice"));
                } else if kind_of.contains_key(m.as_str()) && !locals.contains(m.as_str()) {
                    c.fail(
                        mp.to_string(),
                        format!("member `{m}` is not a local CSU; members must be local CSUs"),
                    );
                } else if p.enabled && disabled.contains(m.as_str()) {
                    c.fail(
                        mp.to_string(),
                        format!(
                            "member `{m}` is disabled, but collaborative `{}` is enabled; \
                             an enabled collaborative's members must be enabled",
                            p.id
                        ),
                    );
                } else {
                    c.reference(mp, m, &providers, "provider");
                }
            }
            match &p.lead {
                None => c.fail(
                    format!("{at}.lead"),
                    "a collaborative needs a lead, one of its members",
                ),
                Some(l) if !p.members.contains(l) => c.fail(
                    format!("{at}.lead"),
                    format!(
                        "lead `{l}` is not a member; allowed: one of {}",
                        p.members.join(", ")
                    ),
                ),
                Some(_) => {}
            }
        } else {
            if !p.members.is_empty() {
                c.fail(format!("{at}.members"), "only collaboratives have members");
            }
            if p.lead.is_some() {
                c.fail(format!("{at}.lead"), "only collaboratives have a lead");
            }
        }
        for (sid, o) in &p.services {
            let sp = format_args!("{at}.services.{sid}");
            if !services.contains(sid.as_str()) {
                c.reference(sp, sid, &services, "service");
                continue;
            }
            c.range(
                format_args!("{sp}.fixed_cost"),
                o.fixed_cost,
                0.0,
                MAX_MONEY,
            );
            c.range(
                format_args!("{sp}.unit_cost"),
                o.unit_cost,
                0.0,
                MAX_UNIT_MONEY,
            );
            c.unit(format_args!("{sp}.quality"), o.quality);
            match o.capacity {
                Some(v) => c.range(format_args!("{sp}.capacity"), v, 0.0, MAX_CAPACITY),
                None if p.kind != ProviderKind::Collaborative => c.fail(
                    format!("{sp}.capacity"),
                    "missing; only a collaborative may leave capacity out (it then pools its members')",
                ),
                None => {}
            }
        }
    }

    let mut last = 0;
    for (i, cp) in s.checkpoints.iter().enumerate() {
        let at = Entry("checkpoints", i);
        if cp.period >= m.periods {
            c.fail(
                format!("{at}.period"),
                format!(
                    "must be below scenario.periods ({}), got {}",
                    m.periods, cp.period
                ),
            );
        }
        if cp.period < last {
            c.fail(
                format!("{at}.period"),
                "checkpoints must be listed in time order",
            );
        }
        last = cp.period;
        c.unit(
            format_args!("{at}.min_customer_share"),
            cp.min_customer_share,
        );
        c.range(format_args!("{at}.min_margin"), cp.min_margin, -10.0, 1.0);
        c.unit(format_args!("{at}.min_capability"), cp.min_capability);
        c.unit(format_args!("{at}.marginal_band"), cp.marginal_band);
    }

    for (i, cf) in s.configurations.iter().enumerate() {
        for (j, id) in cf.enable.iter().enumerate() {
            c.reference(
                format_args!("configurations[{i}].enable[{j}]"),
                id,
                &providers,
                "provider",
            );
        }
        for (j, id) in cf.disable.iter().enumerate() {
            c.reference(
                format_args!("configurations[{i}].disable[{j}]"),
                id,
                &providers,
                "provider",
            );
        }
    }

    targets::check(&mut c, s, &checkpoints);
    if let Some(o) = &s.observed {
        let names: BTreeSet<&str> = s.configurations.iter().map(|x| x.name.as_str()).collect();
        if !names.is_empty() || o.configuration != "base" {
            c.reference(
                "observed.configuration",
                &o.configuration,
                &names,
                "configuration",
            );
        }
        // One rating per provider and checkpoint: two different ones cannot both be the record.
        let mut rated: BTreeMap<(&str, &str), (usize, Rating)> = BTreeMap::new();
        for (i, r) in o.ratings.iter().enumerate() {
            let at = Entry("observed.ratings", i);
            let key = (r.provider.as_str(), r.checkpoint.as_str());
            match rated.get(&key) {
                Some(&(j, first)) if first != r.rating => c.fail(
                    format!("{at}.rating"),
                    format!(
                        "`{}` is rated {} at checkpoint `{}` here but {} at observed.ratings[{j}]; \
                         a provider has one rating per checkpoint",
                        r.provider,
                        r.rating.as_str(),
                        r.checkpoint,
                        first.as_str()
                    ),
                ),
                // The same record twice would count twice in the back-test's scores.
                Some(&(j, _)) => c.fail(
                    format!("{at}.rating"),
                    format!(
                        "`{}` at checkpoint `{}` is already recorded at observed.ratings[{j}]; \
                         record each rating once",
                        r.provider, r.checkpoint
                    ),
                ),
                None => {
                    rated.insert(key, (i, r.rating));
                }
            }
            c.reference(
                format_args!("observed.ratings[{i}].checkpoint"),
                &r.checkpoint,
                &checkpoints,
                "checkpoint",
            );
            c.reference(
                format_args!("observed.ratings[{i}].provider"),
                &r.provider,
                &providers,
                "provider",
            );
        }
    }
    c.findings
}
