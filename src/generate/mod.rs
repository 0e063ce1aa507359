//! Generated markets: a scenario file of any size, written from a few counts and a seed.
//!
//! The market has England 2012's shape (MODEL.md section 8) at any scale: `regions` regions, the
//! five service lines, `providers` local CSUs dealt round the regions with log-normal patch
//! populations, one business-intelligence collaborative per region with at least two CSUs, a
//! national communications service (off unless a configuration enables it), and `ccgs` CCGs
//! generated over the patches by `[ccgs.generate]`. Every number is drawn from a keyed stream
//! (seed, entity id), so the file is a pure function of the arguments: the same arguments give the
//! same bytes, and a provider's figures do not change when other providers are added.

use std::fmt::Write as _;

use crate::model::rng::{self, Purpose, entity_key};
use crate::scenario::limits::{MAX_GENERATED_CCGS, MAX_GENERATED_PROVIDERS};
use crate::scenario::{Scenario, ScenarioError};

/// England's mean CCG population in April 2013: 53.49 million people over 211 CCGs.
pub const ENGLAND_MEAN_CCG_POPULATION: f64 = 253_507.0;
/// The largest total population a scenario may state (`ccgs.generate.total_population`).
pub const MAX_TOTAL_POPULATION: f64 = 1e11;
/// Most members a generated collaborative takes.
const MAX_MEMBERS: usize = 6;
/// Replication index of the generator's streams, apart from any simulation's.
const GENERATOR: u64 = u64::MAX;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketSize {
    /// CCGs (buyers).
    pub ccgs: u32,
    /// Local CSUs.
    pub providers: u32,
    /// Regions.
    pub regions: u32,
    /// Seed of the generated figures, and the scenario's master seed.
    pub seed: u64,
}

/// Why a market could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The counts cannot make a market.
    #[error("{0}")]
    Size(String),
    /// The generated file did not validate (a bug in the generator).
    #[error("the generated scenario does not validate (please report this): {0}")]
    Invalid(#[from] ScenarioError),
}

/// A service line of the generated market: id, name, need per head, locality, in-house fixed cost.
const SERVICES: [(&str, &str, f64, f64, f64); 5] = [
    (
        "local-commissioning",
        "Local commissioning",
        4.0,
        0.8,
        250_000.0,
    ),
    (
        "business-intelligence",
        "Business intelligence",
        1.6,
        0.2,
        120_000.0,
    ),
    (
        "clinical-procurement",
        "Clinical procurement",
        0.8,
        0.1,
        80_000.0,
    ),
    (
        "communications",
        "Communications and engagement",
        0.7,
        0.8,
        60_000.0,
    ),
    ("business-support", "Business support", 2.2, 0.3, 200_000.0),
];

/// Keyed draws for one entity of the generated market.
struct Draws(rand::rngs::ChaCha8Rng);

impl Draws {
    fn new(seed: u64, id: &str) -> Draws {
        Draws(rng::stream(
            seed,
            GENERATOR,
            entity_key(id),
            0,
            Purpose::Generation,
            0,
        ))
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * rng::uniform(&mut self.0)
    }
    fn log_normal(&mut self, sigma: f64) -> f64 {
        libm::exp(sigma * rng::standard_normal(&mut self.0) - sigma * sigma / 2.0)
    }
}

/// A local CSU of the generated market.
struct Csu {
    id: String,
    region: usize,
    patch: f64,
}

fn width(n: u32) -> usize {
    n.max(1).to_string().len()
}

impl MarketSize {
    /// Checks that the counts make a market: at least one of each, and a CSU in every region.
    pub fn check(&self) -> Result<(), GenerateError> {
        let fail = |m: String| Err(GenerateError::Size(m));
        if self.ccgs == 0 || self.providers == 0 || self.regions == 0 {
            return fail(format!(
                "--ccgs, --providers and --regions must each be at least 1 (got {}, {}, {})",
                self.ccgs, self.providers, self.regions
            ));
        }
        if self.ccgs > MAX_GENERATED_CCGS || self.providers > MAX_GENERATED_PROVIDERS {
            return fail(format!(
                "--ccgs {} and --providers {}: at most {MAX_GENERATED_CCGS} CCGs and \
                 {MAX_GENERATED_PROVIDERS} local CSUs",
                self.ccgs, self.providers
            ));
        }
        if self.regions > self.providers {
            return fail(format!(
                "--regions {} exceeds --providers {}: every region needs a local CSU",
                self.regions, self.providers
            ));
        }
        Ok(())
    }

    /// Total population of the market: England's mean CCG size times the CCG count, capped at
    /// what a scenario may state.
    pub fn total_population(&self) -> f64 {
        (f64::from(self.ccgs) * ENGLAND_MEAN_CCG_POPULATION).min(MAX_TOTAL_POPULATION)
    }

    /// The scenario file's text (not yet validated; see [`generate`]).
    pub fn to_toml(&self) -> Result<String, GenerateError> {
        self.check()?;
        let mut t = String::new();
        self.write(&mut t)
            .map_err(|e| GenerateError::Size(format!("cannot format the scenario: {e}")))?;
        Ok(t)
    }

    fn write(&self, t: &mut String) -> std::fmt::Result {
        let (n, m, r, seed) = (self.ccgs, self.providers, self.regions, self.seed);
        let total = self.total_population();
        writeln!(
            t,
            "# Generated by `csmarket generate --ccgs {n} --providers {m} --regions {r} --seed {seed}`"
        )?;
        writeln!(
            t,
            "# (csmarket {}): England 2012's shape at another size. Figures are drawn from the seed;",
            env!("CARGO_PKG_VERSION")
        )?;
        writeln!(
            t,
            "# service lines, costs and rules follow the England 2012 defaults of MODEL.md."
        )?;
        if total < f64::from(n) * ENGLAND_MEAN_CCG_POPULATION {
            writeln!(
                t,
                "# The population is capped at {MAX_TOTAL_POPULATION:e}, so CCGs are smaller than England's."
            )?;
        }
        writeln!(t)?;
        writeln!(t, "[scenario]")?;
        writeln!(
            t,
            "name = \"Generated market: {n} CCGs, {m} CSUs, {r} regions\""
        )?;
        writeln!(
            t,
            "description = \"Synthetic market from csmarket generate, seed {seed}\""
        )?;
        writeln!(t, "seed = {seed}")?;
        writeln!(t, "replications = 1000")?;
        writeln!(t, "periods = 21")?;
        writeln!(t, "independence = 13")?;

        let rw = width(r);
        let region_id = |k: usize| format!("region-{:0rw$}", k + 1);
        for k in 0..r as usize {
            writeln!(t, "\n[[regions]]\nid = \"{}\"", region_id(k))?;
            writeln!(t, "name = \"Region {}\"", k + 1)?;
        }
        for (id, name, need, locality, fixed) in SERVICES {
            writeln!(t, "\n[[services]]\nid = \"{id}\"\nname = \"{name}\"")?;
            writeln!(t, "need_per_head = {need}\nlocality = {locality}")?;
            writeln!(
                t,
                "in_house = {{ fixed_cost = {fixed}, unit_cost = 0.9, quality = 0.6 }}"
            )?;
            writeln!(t, "independent = {{ price = 1.15, quality = 0.6 }}")?;
        }
        writeln!(t, "\n[ccgs.generate]\ncount = {n}")?;
        writeln!(t, "total_population = {total:.0}\nseed = {seed}")?;

        let pw = width(m);
        let mut csus = Vec::with_capacity(m as usize);
        for i in 0..m as usize {
            let id = format!("csu-{:0pw$}", i + 1);
            let mut d = Draws::new(seed, &id);
            let patch = (total / f64::from(m) * d.log_normal(0.35)).round().max(1.0);
            csus.push(Csu {
                id,
                region: i % r as usize,
                patch,
            });
        }
        for c in &csus {
            let mut d = Draws::new(seed, &format!("{}/offer", c.id));
            writeln!(t, "\n[[providers]]\nid = \"{}\"\nkind = \"local\"", c.id)?;
            writeln!(t, "region = \"{}\"", region_id(c.region))?;
            writeln!(t, "patch_population = {:.0}", c.patch)?;
            writeln!(t, "reserves = {:.0}", c.patch * d.uniform(0.0, 0.5))?;
            writeln!(
                t,
                "standards = {{ leadership = {:.3}, people = {:.3}, process = {:.3}, partnerships = {:.3} }}",
                d.uniform(0.45, 0.85),
                d.uniform(0.45, 0.85),
                d.uniform(0.45, 0.85),
                d.uniform(0.45, 0.85)
            )?;
            for (id, _, need, _, _) in SERVICES {
                let volume = c.patch * need;
                writeln!(
                    t,
                    "services.{id} = {{ fixed_cost = {:.0}, unit_cost = {:.3}, quality = {:.3}, capacity = {:.0} }}",
                    0.12 * volume * d.uniform(0.8, 1.2),
                    0.85 * d.uniform(0.95, 1.05),
                    d.uniform(0.55, 0.75),
                    volume * d.uniform(0.75, 1.05)
                )?;
            }
        }
        let mut collaboratives = Vec::new();
        for k in 0..r as usize {
            let members: Vec<&Csu> = csus
                .iter()
                .filter(|c| c.region == k)
                .take(MAX_MEMBERS)
                .collect();
            if members.len() < 2 {
                continue;
            }
            let id = format!("bi-{}", region_id(k));
            let mut d = Draws::new(seed, &id);
            let list: Vec<String> = members.iter().map(|c| format!("\"{}\"", c.id)).collect();
            writeln!(
                t,
                "\n[[providers]]\nid = \"{id}\"\nkind = \"collaborative\""
            )?;
            writeln!(t, "region = \"{}\"", region_id(k))?;
            writeln!(t, "members = [{}]", list.join(", "))?;
            writeln!(t, "lead = {}", list[0])?;
            writeln!(t, "coordination_cost = 20000")?;
            let volume: f64 = members.iter().map(|c| c.patch * SERVICES[1].2).sum();
            writeln!(
                t,
                "services.business-intelligence = {{ fixed_cost = {:.0}, unit_cost = 0.8, quality = {:.3} }}",
                0.06 * volume,
                d.uniform(0.65, 0.75)
            )?;
            collaboratives.push(id);
        }
        let comms: f64 = csus.iter().map(|c| c.patch).sum::<f64>() * SERVICES[3].2;
        writeln!(
            t,
            "\n[[providers]]\nid = \"national-comms\"\nkind = \"national\"\nenabled = false"
        )?;
        writeln!(
            t,
            "services.communications = {{ fixed_cost = {:.0}, unit_cost = 0.8, quality = 0.7, capacity = {:.0} }}",
            0.05 * comms,
            0.5 * comms
        )?;
        writeln!(t, "\n[[checkpoints]]\nid = \"checkpoint-2\"\nperiod = 0")?;
        writeln!(t, "\n[[checkpoints]]\nid = \"first-year\"\nperiod = 4")?;
        writeln!(t, "\n[[configurations]]\nname = \"collaboratives\"")?;
        writeln!(
            t,
            "description = \"Local CSUs and one business intelligence collaborative per region\""
        )?;
        writeln!(t, "\n[[configurations]]\nname = \"all-local\"")?;
        writeln!(t, "description = \"Every CSU alone, nothing at scale\"")?;
        let list: Vec<String> = collaboratives.iter().map(|c| format!("\"{c}\"")).collect();
        writeln!(t, "disable = [{}]", list.join(", "))?;
        writeln!(t, "\n[[configurations]]\nname = \"national-comms\"")?;
        writeln!(
            t,
            "description = \"A national communications service beside the local CSUs\""
        )?;
        writeln!(t, "enable = [\"national-comms\"]")?;
        Ok(())
    }
}

/// Generates a market's scenario file and checks it as any scenario is checked; returns the text
/// and the loaded scenario. `file` names it in messages.
pub fn generate(size: &MarketSize, file: &str) -> Result<(String, Scenario), GenerateError> {
    let text = size.to_toml()?;
    let scenario = Scenario::from_text(file, &text)?;
    Ok((text, scenario))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Market;

    fn size(ccgs: u32, providers: u32, regions: u32, seed: u64) -> MarketSize {
        MarketSize {
            ccgs,
            providers,
            regions,
            seed,
        }
    }

    #[test]
    fn generated_market_validates_and_compiles_every_configuration() {
        let (_, s) = generate(&size(500, 12, 3, 9), "gen.toml").unwrap();
        assert_eq!(
            s.configuration_names(),
            ["collaboratives", "all-local", "national-comms"]
        );
        for c in s.configuration_names() {
            let m = Market::compile(&s.resolve(&c).unwrap(), &c).unwrap();
            assert_eq!(m.ccgs.len(), 500, "{c}");
            assert_eq!(m.regions.len(), 3);
        }
    }

    #[test]
    fn generation_is_a_function_of_its_arguments() {
        let a = size(300, 7, 2, 4).to_toml().unwrap();
        assert_eq!(a, size(300, 7, 2, 4).to_toml().unwrap());
        assert_ne!(a, size(300, 7, 2, 5).to_toml().unwrap());
    }

    #[test]
    fn a_csu_keeps_its_standards_when_others_are_added() {
        // Patches are shares of the total, so they move; the CSU's own draws do not.
        let standards = |t: &str| {
            let at = t.find("id = \"csu-01\"").unwrap();
            let from = at + t[at..].find("standards").unwrap();
            t[from..from + t[from..].find('\n').unwrap()].to_string()
        };
        let a = size(300, 10, 2, 4).to_toml().unwrap();
        let b = size(300, 12, 2, 4).to_toml().unwrap();
        assert_eq!(standards(&a), standards(&b));
    }

    #[test]
    fn impossible_sizes_are_refused_with_the_flag_named() {
        let e = size(10, 2, 3, 1).to_toml().unwrap_err().to_string();
        assert!(e.contains("--regions 3 exceeds --providers 2"), "{e}");
        let e = size(0, 2, 1, 1).to_toml().unwrap_err().to_string();
        assert!(e.contains("at least 1"), "{e}");
    }

    #[test]
    fn a_million_ccgs_stay_within_the_population_limit() {
        let s = size(1_000_000, 25, 4, 1);
        assert_eq!(s.total_population(), MAX_TOTAL_POPULATION);
        assert!(s.to_toml().unwrap().contains("capped"));
    }
}
