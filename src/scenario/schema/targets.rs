//! Calibration targets (`[[observed.targets]]`) and uncertain parameters (`uncertain`), as the
//! user writes them (MODEL.md section 11).

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ProviderKind, Rating};

/// What a target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Providers (of a kind) rated A, B or C at a checkpoint.
    RatingCount,
    /// Share of CCGs' intended volume (quarter 0) going to a destination.
    IntentionShare,
    /// What CCGs pay per head per year in a quarter, in total or to NHS providers.
    SpendPerHead,
    /// Providers (of a kind) open at the end of a quarter.
    OpenProviders,
    /// In-house share of volume in a quarter.
    InHouseShare,
}

impl TargetKind {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::RatingCount => "rating_count",
            TargetKind::IntentionShare => "intention_share",
            TargetKind::SpendPerHead => "spend_per_head",
            TargetKind::OpenProviders => "open_providers",
            TargetKind::InHouseShare => "in_house_share",
        }
    }
}

/// Where intended volume goes, for an intention share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// The CCG's host CSU, directly or through a network it belongs to.
    Host,
    /// The independent sector.
    Independent,
    /// The CCG's own team.
    InHouse,
}

impl Destination {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Destination::Host => "host",
            Destination::Independent => "independent",
            Destination::InHouse => "in_house",
        }
    }
}

/// Whose spend a spend-per-head target counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpendTo {
    /// Everything CCGs pay for support: providers, in-house, independent.
    #[default]
    Total,
    /// What CCGs pay to NHS providers (CSUs, collaboratives, national services).
    Nhs,
}

impl SpendTo {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            SpendTo::Total => "total",
            SpendTo::Nhs => "nhs",
        }
    }
}

/// One figure the model is calibrated to: what was observed, how far off counts as one unit, under
/// which configuration and where it comes from. Which of the optional fields a kind needs is
/// checked by validation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Name in outputs (default: built from the kind and its fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What is measured.
    pub kind: TargetKind,
    /// The observed value.
    pub value: f64,
    /// The distance at which a simulated value counts as one unit off (greater than 0).
    pub tolerance: f64,
    /// Configuration it was observed under (default: the observed section's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<String>,
    /// Where the figure comes from.
    pub source: String,
    /// Checkpoint id (rating counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The rating counted (rating counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// Kind of provider counted (rating counts, open providers; default: every kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_kind: Option<ProviderKind>,
    /// Where intended volume goes (intention shares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    /// Quarter, from 1 (spend per head, open providers, in-house share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarter: Option<u32>,
    /// Whose spend (spend per head; default `total`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<SpendTo>,
}

impl Target {
    /// The name shown in outputs: the `id`, or one built from the kind and its fields, e.g.
    /// `rating_count:cp2:local:A` or `spend_per_head:nhs:q1`.
    pub fn label(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        let mut parts = vec![self.kind.as_str().to_string()];
        if let Some(c) = &self.checkpoint {
            parts.push(c.clone());
        }
        if let Some(k) = self.provider_kind {
            parts.push(k.as_str().into());
        }
        if let Some(r) = self.rating {
            parts.push(r.as_str().into());
        }
        if let Some(d) = self.destination {
            parts.push(d.as_str().into());
        }
        if let Some(t) = self.to {
            parts.push(t.as_str().into());
        }
        if let Some(q) = self.quarter {
            parts.push(format!("q{q}"));
        }
        parts.join(":")
    }
}

/// An uncertain parameter: a numeric field's path and, for calibration, its prior range (uniform
/// between `min` and `max`). Written as a plain path (`"rules.plan_share"`) or as a table
/// (`{ path = "rules.plan_share", min = 0.4, max = 0.8 }`).
#[derive(Debug, Clone, PartialEq)]
pub struct Uncertain {
    /// Dotted path of a numeric field.
    pub path: String,
    /// Least value of the prior range.
    pub min: Option<f64>,
    /// Greatest value of the prior range.
    pub max: Option<f64>,
    /// Why the parameter is uncertain and why this range.
    pub reason: String,
}

impl Uncertain {
    /// The prior range, when both ends are given.
    pub fn prior(&self) -> Option<(f64, f64)> {
        self.min.zip(self.max)
    }
}

/// The table form of an uncertain parameter.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct UncertainTable {
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    reason: String,
}

impl<'de> Deserialize<'de> for Uncertain {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = Uncertain;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field path, or a table { path, min, max, reason }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Uncertain, E> {
                Ok(Uncertain {
                    path: v.to_string(),
                    min: None,
                    max: None,
                    reason: String::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Uncertain, A::Error> {
                let t = UncertainTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Uncertain {
                    path: t.path,
                    min: t.min,
                    max: t.max,
                    reason: t.reason,
                })
            }
        }
        d.deserialize_any(Either)
    }
}

impl Serialize for Uncertain {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.min.is_none() && self.max.is_none() && self.reason.is_empty() {
            s.serialize_str(&self.path)
        } else {
            UncertainTable {
                path: self.path.clone(),
                min: self.min,
                max: self.max,
                reason: self.reason.clone(),
            }
            .serialize(s)
        }
    }
}
