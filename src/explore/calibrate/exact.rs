//! Numbers in saved calibration files written as text that reads back bit for bit (Rust's
//! shortest round-trip form, parsed by the standard library), so a resumed or merged calibration
//! equals one run straight through: a JSON number may read back one bit off.

use serde::de::Error;
use serde::{Deserialize, Deserializer, Serializer};

fn text(x: f64) -> String {
    format!("{x:?}")
}

fn parse<E: Error>(s: &str) -> Result<f64, E> {
    s.parse()
        .map_err(|_| E::custom(format!("`{s}` is not a number")))
}

/// One number.
pub mod one {
    use super::*;

    /// Writes a number as text.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(*x))
    }

    /// Reads a number written as text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        parse(&String::deserialize(d)?)
    }
}

/// An optional number.
pub mod maybe {
    use super::*;

    /// Writes an optional number as text or null.
    pub fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(v) => s.serialize_some(&text(*v)),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional number written as text or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| parse(&s))
            .transpose()
    }
}

/// A list of numbers.
pub mod many {
    use super::*;

    /// Writes numbers as texts.
    pub fn serialize<S: Serializer>(x: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(x.iter().map(|v| text(*v)))
    }

    /// Reads numbers written as texts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| parse(s))
            .collect()
    }
}

/// Rows of numbers.
pub mod rows {
    use super::*;

    /// Writes rows of numbers as texts.
    pub fn serialize<S: Serializer>(x: &[Vec<f64>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            x.iter()
                .map(|r| r.iter().map(|v| text(*v)).collect::<Vec<_>>()),
        )
    }

    /// Reads rows of numbers written as texts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
        Vec::<Vec<String>>::deserialize(d)?
            .iter()
            .map(|r| r.iter().map(|s| parse(s)).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Holder {
        #[serde(with = "super::many")]
        xs: Vec<f64>,
    }

    #[test]
    fn numbers_read_back_bit_for_bit() {
        let xs = vec![
            0.1 + 0.2,
            1.0 / 3.0,
            2.5e-310,
            f64::INFINITY,
            -0.0,
            1e300 * 7.0,
        ];
        let h = Holder { xs: xs.clone() };
        let back: Holder = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        for (a, b) in xs.iter().zip(&back.xs) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }
}
