//! Checks a parsed scenario against the rules serde cannot express: ranges, references, uniqueness.
//! Every problem is collected, so `csmarket validate` reports them all at once.

use std::collections::{BTreeMap, BTreeSet};

use super::schema::{Normal, ProviderKind, ScenarioFile};

/// A problem found by validation: field path and message, without position.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Field path.
    pub path: String,
    /// What was wrong and what is allowed.
    pub message: String,
}

struct Checker {
    findings: Vec<Finding>,
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            path: path.into(),
            message: message.into(),
        });
    }

    /// A finite number in `[lo, hi]`.
    fn range(&mut self, path: &str, v: f64, lo: f64, hi: f64) {
        if !v.is_finite() {
            self.fail(
                path,
                format!(
                    "must be a finite number, got {v}; allowed: {}",
                    describe(lo, hi)
                ),
            );
        } else if v < lo || v > hi {
            self.fail(
                path,
                format!("out of range: got {v}; allowed: {}", describe(lo, hi)),
            );
        }
    }

    fn positive(&mut self, path: &str, v: f64) {
        if !v.is_finite() || v <= 0.0 {
            self.fail(
                path,
                format!("must be a finite number greater than 0, got {v}"),
            );
        }
    }

    fn unit(&mut self, path: &str, v: f64) {
        self.range(path, v, 0.0, 1.0);
    }

    fn non_negative(&mut self, path: &str, v: f64) {
        self.range(path, v, 0.0, f64::INFINITY);
    }

    fn normal(&mut self, path: &str, n: &Normal) {
        self.range(&format!("{path}.mean"), n.mean, 0.0, 1e6);
        self.range(&format!("{path}.sd"), n.sd, 0.0, 1e6);
    }

    fn id(&mut self, path: &str, id: &str) {
        let ok = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            self.fail(
                path,
                format!("invalid id `{id}`; allowed: letters, digits, `-` and `_`"),
            );
        }
    }

    fn unique<'a>(
        &mut self,
        what: &str,
        ids: impl Iterator<Item = (String, &'a str)>,
    ) -> BTreeSet<&'a str> {
        let mut seen = BTreeMap::new();
        for (path, id) in ids {
            self.id(&path, id);
            if let Some(first) = seen.insert(id, path.clone()) {
                self.fail(
                    path,
                    format!(
                        "duplicate {what} id `{id}` (first defined at {first}); ids must be unique"
                    ),
                );
            }
        }
        seen.into_keys().collect()
    }

    fn reference(&mut self, path: &str, id: &str, known: &BTreeSet<&str>, what: &str) {
        if !known.contains(id) {
            let list: Vec<&str> = known.iter().copied().collect();
            self.fail(
                path,
                format!("unknown {what} `{id}`; known {what}s: {}", list.join(", ")),
            );
        }
    }
}

fn describe(lo: f64, hi: f64) -> String {
    match (lo.is_finite(), hi.is_finite()) {
        (true, true) => format!("a number from {lo} to {hi}"),
        (true, false) => format!("a number of at least {lo}"),
        (false, true) => format!("a number of at most {hi}"),
        (false, false) => "a finite number".into(),
    }
}

/// Checks the scenario and returns every problem found (empty when valid).
pub fn validate(s: &ScenarioFile) -> Vec<Finding> {
    let mut c = Checker {
        findings: Vec::new(),
    };
    let m = &s.scenario;
    if m.periods < 2 {
        c.fail(
            "scenario.periods",
            format!(
                "must be at least 2 (the planning quarter and one more), got {}",
                m.periods
            ),
        );
    }
    if m.periods > 400 {
        c.fail(
            "scenario.periods",
            format!("at most 400 quarters, got {}", m.periods),
        );
    }
    if m.independence > m.periods {
        c.fail(
            "scenario.independence",
            format!(
                "must be at most scenario.periods ({}), got {}",
                m.periods, m.independence
            ),
        );
    }
    if m.replications == 0 {
        c.fail("scenario.replications", "must be at least 1");
    }

    let r = &s.rules;
    if r.contract_length == 0 {
        c.fail("rules.contract_length", "must be at least 1 quarter");
    }
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
    c.positive("finance.cost_per_fte", f.cost_per_fte);

    let l = &s.closeness;
    for (k, v) in [
        ("in_house", l.in_house),
        ("host", l.host),
        ("member_collaborative", l.member_collaborative),
        ("same_region_local", l.same_region_local),
        ("region_collaborative", l.region_collaborative),
        ("other", l.other),
    ] {
        c.unit(&format!("closeness.{k}"), v);
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
        s.regions
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("regions[{i}].id"), r.id.as_str())),
    );
    let services = c.unique(
        "service",
        s.services
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("services[{i}].id"), x.id.as_str())),
    );
    let providers = c.unique(
        "provider",
        s.providers
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("providers[{i}].id"), x.id.as_str())),
    );
    c.unique(
        "CCG",
        s.ccgs
            .list
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("ccgs.list[{i}].id"), x.id.as_str())),
    );
    let checkpoints = c.unique(
        "checkpoint",
        s.checkpoints
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("checkpoints[{i}].id"), x.id.as_str())),
    );
    c.unique(
        "configuration",
        s.configurations
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("configurations[{i}].name"), x.name.as_str())),
    );

    for (i, sv) in s.services.iter().enumerate() {
        let at = format!("services[{i}]");
        c.non_negative(&format!("{at}.need_per_head"), sv.need_per_head);
        c.positive(&format!("{at}.reference_price"), sv.reference_price);
        c.unit(&format!("{at}.locality"), sv.locality);
        c.non_negative(&format!("{at}.in_house.fixed_cost"), sv.in_house.fixed_cost);
        c.non_negative(&format!("{at}.in_house.unit_cost"), sv.in_house.unit_cost);
        c.unit(&format!("{at}.in_house.quality"), sv.in_house.quality);
        c.non_negative(&format!("{at}.independent.price"), sv.independent.price);
        c.unit(&format!("{at}.independent.quality"), sv.independent.quality);
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

    let region_of: BTreeMap<&str, Option<&str>> = s
        .providers
        .iter()
        .map(|p| (p.id.as_str(), p.region.as_deref()))
        .collect();
    for (i, x) in s.ccgs.list.iter().enumerate() {
        let at = format!("ccgs.list[{i}]");
        c.reference(&format!("{at}.region"), &x.region, &regions, "region");
        c.range(&format!("{at}.population"), x.population, 1.0, 1e9);
        c.range(&format!("{at}.allowance"), x.allowance, 0.0, 1e4);
        if let Some(h) = &x.host {
            c.reference(&format!("{at}.host"), h, &locals, "local CSU");
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
        if g.count == 0 {
            c.fail("ccgs.generate.count", "must be at least 1");
        }
        c.range(
            "ccgs.generate.total_population",
            g.total_population,
            1.0,
            1e11,
        );
        c.range("ccgs.generate.size_sigma", g.size_sigma, 0.0, 3.0);
        c.positive("ccgs.generate.min_population", g.min_population);
        c.positive("ccgs.generate.max_population", g.max_population);
        if g.min_population > g.max_population {
            c.fail(
                "ccgs.generate.min_population",
                "must not exceed ccgs.generate.max_population",
            );
        }
        c.range("ccgs.generate.allowance", g.allowance, 0.0, 1e4);
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
        let at = format!("providers[{i}]");
        match (&p.region, p.kind) {
            (Some(r), _) => c.reference(&format!("{at}.region"), r, &regions, "region"),
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
            c.range(&format!("{at}.patch_population"), v, 0.0, 1e11);
            if p.kind != ProviderKind::Local {
                c.fail(
                    format!("{at}.patch_population"),
                    "only local CSUs have a patch",
                );
            }
        }
        if let Some(mk) = p.markup {
            c.range(&format!("{at}.markup"), mk, -0.5, 5.0);
        }
        c.range(&format!("{at}.reserves"), p.reserves, -1e12, 1e12);
        c.non_negative(&format!("{at}.coordination_cost"), p.coordination_cost);
        let st = &p.standards;
        for (k, v) in [
            ("leadership", st.leadership),
            ("people", st.people),
            ("process", st.process),
            ("partnerships", st.partnerships),
        ] {
            c.unit(&format!("{at}.standards.{k}"), v);
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
                let mp = format!("{at}.members[{j}]");
                if !seen.insert(m.as_str()) {
                    c.fail(&mp, format!("member `{m}` is listed twice"));
                } else if kind_of.contains_key(m.as_str()) && !locals.contains(m.as_str()) {
                    c.fail(
                        &mp,
                        format!("member `{m}` is not a local CSU; members must be local CSUs"),
                    );
                } else {
                    c.reference(&mp, m, &providers, "provider");
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
            let sp = format!("{at}.services.{sid}");
            if !services.contains(sid.as_str()) {
                c.reference(&sp, sid, &services, "service");
                continue;
            }
            c.non_negative(&format!("{sp}.fixed_cost"), o.fixed_cost);
            c.non_negative(&format!("{sp}.unit_cost"), o.unit_cost);
            c.unit(&format!("{sp}.quality"), o.quality);
            match o.capacity {
                Some(v) => c.non_negative(&format!("{sp}.capacity"), v),
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
        let at = format!("checkpoints[{i}]");
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
        c.unit(&format!("{at}.min_customer_share"), cp.min_customer_share);
        c.range(&format!("{at}.min_margin"), cp.min_margin, -10.0, 1.0);
        c.unit(&format!("{at}.min_capability"), cp.min_capability);
        c.unit(&format!("{at}.marginal_band"), cp.marginal_band);
    }

    for (i, cf) in s.configurations.iter().enumerate() {
        for (j, id) in cf.enable.iter().enumerate() {
            c.reference(
                &format!("configurations[{i}].enable[{j}]"),
                id,
                &providers,
                "provider",
            );
        }
        for (j, id) in cf.disable.iter().enumerate() {
            c.reference(
                &format!("configurations[{i}].disable[{j}]"),
                id,
                &providers,
                "provider",
            );
        }
    }

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
        for (i, r) in o.ratings.iter().enumerate() {
            c.reference(
                &format!("observed.ratings[{i}].checkpoint"),
                &r.checkpoint,
                &checkpoints,
                "checkpoint",
            );
            c.reference(
                &format!("observed.ratings[{i}].provider"),
                &r.provider,
                &providers,
                "provider",
            );
        }
    }
    c.findings
}
