//! The simulated value of each calibration target in one replication (MODEL.md section 11): a
//! target resolved once against the compiled market, then read from each replication's outcome.

use crate::engine::{ReplicationOutcome, kind_index};
use crate::model::Market;
use crate::scenario::schema::{Destination, ProviderKind, SpendTo, Target, TargetKind};

/// A target resolved against a market: indices instead of ids.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// Providers (of a kind) with a rating code at a checkpoint index.
    RatingCount {
        /// Checkpoint index in the market.
        checkpoint: usize,
        /// Rating code as outcomes record it (1 A, 2 B, 3 C).
        code: u8,
        /// Kind counted (none: every kind).
        kind: Option<ProviderKind>,
    },
    /// Share of intended volume going to a destination.
    IntentionShare(Destination),
    /// Spend per head per year in a quarter (index into the series).
    SpendPerHead {
        /// Index into the outcome's series (quarter - 1).
        at: usize,
        /// Whose spend.
        to: SpendTo,
    },
    /// Providers (of a kind) open at the end of a quarter.
    OpenProviders {
        /// Index into the outcome's series (quarter - 1).
        at: usize,
        /// Kind counted (none: every kind).
        kind: Option<ProviderKind>,
    },
    /// In-house share of volume in a quarter.
    InHouseShare {
        /// Index into the outcome's series (quarter - 1).
        at: usize,
    },
}

impl Measure {
    /// Resolves a target against a market; says what is missing when the market lacks it.
    pub fn of(t: &Target, m: &Market) -> Result<Measure, String> {
        let quarter = || -> Result<usize, String> {
            match t.quarter {
                Some(q) if q >= 1 && q < m.periods => Ok(q as usize - 1),
                Some(q) => Err(format!(
                    "quarter {q} is not simulated (quarters 1 to {})",
                    m.periods.saturating_sub(1)
                )),
                None => Err("needs a quarter".into()),
            }
        };
        Ok(match t.kind {
            TargetKind::RatingCount => {
                let id = t.checkpoint.as_deref().unwrap_or_default();
                let checkpoint = m
                    .checkpoints
                    .iter()
                    .position(|c| c.id == id)
                    .ok_or_else(|| format!("the market has no checkpoint `{id}`"))?;
                let code = match t.rating {
                    Some(r) => 1 + r as u8,
                    None => return Err("needs a rating".into()),
                };
                Measure::RatingCount {
                    checkpoint,
                    code,
                    kind: t.provider_kind,
                }
            }
            TargetKind::IntentionShare => Measure::IntentionShare(
                t.destination
                    .ok_or_else(|| "needs a destination".to_string())?,
            ),
            TargetKind::SpendPerHead => Measure::SpendPerHead {
                at: quarter()?,
                to: t.to.unwrap_or_default(),
            },
            TargetKind::OpenProviders => Measure::OpenProviders {
                at: quarter()?,
                kind: t.provider_kind,
            },
            TargetKind::InHouseShare => Measure::InHouseShare { at: quarter()? },
        })
    }

    /// The simulated value in one replication of `m`.
    pub fn value(&self, m: &Market, r: &ReplicationOutcome) -> f64 {
        let quarter = |at: usize| r.series.get(at);
        match *self {
            Measure::RatingCount {
                checkpoint,
                code,
                kind,
            } => m
                .providers
                .iter()
                .zip(&r.providers)
                .filter(|(p, o)| {
                    kind.is_none_or(|k| p.kind == k) && o.ratings.get(checkpoint) == Some(&code)
                })
                .count() as f64,
            Measure::IntentionShare(Destination::Host) => r.intended_host_share,
            Measure::IntentionShare(Destination::InHouse) => r.intended_in_house_share,
            Measure::IntentionShare(Destination::Independent) => r.intended_independent_share,
            Measure::SpendPerHead { at, to } => quarter(at).map_or(0.0, |q| match to {
                SpendTo::Total => q.cost_per_head,
                SpendTo::Nhs => q.nhs_spend_per_head,
            }),
            Measure::OpenProviders { at, kind } => quarter(at).map_or(0.0, |q| match kind {
                Some(k) => f64::from(q.open_by_kind[kind_index(k)]),
                None => f64::from(q.open_providers),
            }),
            Measure::InHouseShare { at } => quarter(at).map_or(0.0, |q| q.in_house_share),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::simulate;
    use crate::scenario::Scenario;

    fn market() -> (Scenario, Market) {
        let s = Scenario::from_text(
            "small.toml",
            include_str!("../../../tests/fixtures/small.toml"),
        )
        .unwrap();
        let m = Market::compile(&s.resolve("collaborative").unwrap(), "collaborative").unwrap();
        (s, m)
    }

    fn target(toml_text: &str) -> Target {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn rating_counts_add_up_to_the_providers_rated() {
        let (s, m) = market();
        let cp = &s.base.checkpoints[0].id;
        let r = simulate(&m, 4);
        let total: f64 = ["A", "B", "C"]
            .iter()
            .map(|rating| {
                let t = target(&format!(
                    "kind = \"rating_count\"\nvalue = 1\ntolerance = 1\nsource = \"x\"\n\
                     checkpoint = \"{cp}\"\nrating = \"{rating}\""
                ));
                Measure::of(&t, &m).unwrap().value(&m, &r)
            })
            .sum();
        let rated = r.providers.iter().filter(|p| p.ratings[0] > 0).count();
        assert_eq!(total, rated as f64);
    }

    #[test]
    fn quarterly_figures_come_from_the_series() {
        let (_, m) = market();
        let r = simulate(&m, 4);
        let t = target(
            "kind = \"spend_per_head\"\nvalue = 9\ntolerance = 1\nsource = \"x\"\nquarter = 2",
        );
        let v = Measure::of(&t, &m).unwrap().value(&m, &r);
        assert_eq!(v, r.series[1].cost_per_head);
        let t = target(
            "kind = \"open_providers\"\nvalue = 3\ntolerance = 1\nsource = \"x\"\nquarter = 1",
        );
        let v = Measure::of(&t, &m).unwrap().value(&m, &r);
        assert_eq!(v, f64::from(r.series[0].open_providers));
        let t = target(
            "kind = \"in_house_share\"\nvalue = 0.2\ntolerance = 0.1\nsource = \"x\"\nquarter = 99",
        );
        assert!(Measure::of(&t, &m).unwrap_err().contains("not simulated"));
    }
}
